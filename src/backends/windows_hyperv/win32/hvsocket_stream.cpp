// The AF_HYPERV end of a connect session: SOCKADDR_HV{VmId = the VM's
// RuntimeId, ServiceId = the vsock port's service GUID}, host-initiated.
#include "backends/windows_hyperv/win32/windows_headers.hpp"

#include <algorithm>

#include <fmt/core.h>

#include "backends/windows_hyperv/hvsocket_service.hpp"
#include "backends/windows_hyperv/win32/win32_channels.hpp"
#include "backends/windows_hyperv/win32/win32_error.hpp"

#ifndef AF_HYPERV
#define AF_HYPERV 34
#endif

namespace microagent::windows_hyperv::win32 {

namespace {

class HvSocketStream : public GuestStream {
 public:
  explicit HvSocketStream(SOCKET socket) : socket_(socket) {}
  ~HvSocketStream() override { closesocket(socket_); }
  HvSocketStream(const HvSocketStream&) = delete;
  HvSocketStream& operator=(const HvSocketStream&) = delete;

  Result<void> send(std::string_view bytes) override {
    while (!bytes.empty()) {
      const int chunk = static_cast<int>(std::min<std::size_t>(bytes.size(), 1 << 20));
      const int n = ::send(socket_, bytes.data(), chunk, 0);
      if (n <= 0) return fail_win32("send on the connect session", static_cast<DWORD>(WSAGetLastError()));
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
  }

  Result<std::string> receive() override {
    char buffer[65536];
    const int n = recv(socket_, buffer, sizeof buffer, 0);
    if (n < 0) {
      const DWORD err = static_cast<DWORD>(WSAGetLastError());
      // The guest resetting the stream is a hang-up, not a local fault.
      if (err == WSAECONNRESET || err == WSAECONNABORTED) return std::string();
      return fail_win32("recv on the connect session", err);
    }
    return std::string(buffer, static_cast<std::size_t>(n));
  }

 private:
  SOCKET socket_;
};

}  // namespace

Result<std::unique_ptr<GuestStream>> connect_hvsocket(const std::string& vm_runtime_id, std::uint32_t port,
                                                      std::chrono::milliseconds timeout) {
  if (!winsock_ready()) return fail(ErrorCode::host_unavailable, "Winsock 2.2 is not available");
  auto vm = parse_guid(vm_runtime_id);
  if (!vm) return std::unexpected(vm.error());
  auto service = parse_guid(vsock_service_id(port));
  if (!service) return std::unexpected(service.error());
  SOCKADDR_HV address{};
  address.Family = AF_HYPERV;
  address.VmId = *vm;
  address.ServiceId = *service;
  SOCKET s = socket(AF_HYPERV, SOCK_STREAM, HV_PROTOCOL_RAW);
  if (s == INVALID_SOCKET) {
    return fail(ErrorCode::host_unavailable,
                "cannot create a Hyper-V socket (AF_HYPERV): " + system_message(static_cast<DWORD>(WSAGetLastError())) +
                    "; Fix: enable Hyper-V (microagent doctor)");
  }
  // Hyper-V's own connect timeout (the guest may not listen yet); default is 90 s.
  DWORD ms = static_cast<DWORD>(std::min<long long>(timeout.count(), HVSOCKET_CONNECT_TIMEOUT_MAX));
  setsockopt(s, HV_PROTOCOL_RAW, HVSOCKET_CONNECT_TIMEOUT, reinterpret_cast<const char*>(&ms), sizeof ms);
  if (connect(s, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    const DWORD err = static_cast<DWORD>(WSAGetLastError());
    closesocket(s);
    return fail_win32(fmt::format("connect to guest port {} (service {})", port, vsock_service_id(port)), err);
  }
  return std::unique_ptr<GuestStream>(std::make_unique<HvSocketStream>(s));
}

}  // namespace microagent::windows_hyperv::win32
