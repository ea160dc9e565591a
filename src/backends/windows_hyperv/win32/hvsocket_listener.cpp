#include "backends/windows_hyperv/win32/windows_headers.hpp"

#include <chrono>
#include <functional>

#include <fmt/core.h>

#include "backends/windows_hyperv/hvsocket_service.hpp"
#include "backends/windows_hyperv/win32/win32_channels.hpp"
#include "backends/windows_hyperv/win32/win32_error.hpp"

#ifndef AF_HYPERV
#define AF_HYPERV 34
#endif

namespace microagent::windows_hyperv::win32 {

bool winsock_ready() {
  static const bool ready = [] {
    WSADATA data{};
    return WSAStartup(MAKEWORD(2, 2), &data) == 0;
  }();
  return ready;
}

Result<GUID> parse_guid(const std::string& text) {
  GUID guid{};
  std::string bare = text;
  if (!bare.empty() && bare.front() == '{') bare = bare.substr(1, bare.size() - 2);
  if (UuidFromStringA(reinterpret_cast<RPC_CSTR>(bare.data()), &guid) != RPC_S_OK) {
    return fail(ErrorCode::internal, "not a GUID: " + text);
  }
  return guid;
}

namespace {

class HvSocketListener : public GuestServiceListener {
 public:
  HvSocketListener(SOCKET socket, std::function<bool()> vm_running)
      : socket_(socket), vm_running_(std::move(vm_running)) {}
  ~HvSocketListener() override { closesocket(socket_); }

  Result<std::string> receive(std::optional<std::chrono::milliseconds> timeout) override {
    using clock = std::chrono::steady_clock;
    const auto deadline = timeout ? clock::now() + *timeout : clock::time_point::max();
    for (;;) {
      fd_set readable;
      FD_ZERO(&readable);
      FD_SET(socket_, &readable);
      timeval slice{1, 0};  // wake once a second to see whether the VM still runs
      const int ready = select(0, &readable, nullptr, nullptr, &slice);
      if (ready < 0) return fail_win32("select on Hyper-V socket", static_cast<DWORD>(WSAGetLastError()));
      if (ready > 0) break;
      if (clock::now() >= deadline) {
        return fail(ErrorCode::internal, fmt::format("timed out after {} s waiting for the guest's result",
                                                     timeout->count() / 1000));
      }
      if (vm_running_ && !vm_running_()) return fail(ErrorCode::internal, "the VM stopped without connecting");
    }
    SOCKET peer = accept(socket_, nullptr, nullptr);
    if (peer == INVALID_SOCKET) return fail_win32("accept on Hyper-V socket", static_cast<DWORD>(WSAGetLastError()));
    std::string data;
    char buffer[65536];
    for (;;) {
      const int n = recv(peer, buffer, sizeof buffer, 0);
      if (n == 0) break;
      if (n < 0) {
        const DWORD err = static_cast<DWORD>(WSAGetLastError());
        closesocket(peer);
        return fail_win32("recv on Hyper-V socket", err);
      }
      data.append(buffer, static_cast<std::size_t>(n));
    }
    closesocket(peer);
    return data;
  }

 private:
  SOCKET socket_;
  std::function<bool()> vm_running_;
};

}  // namespace

Result<std::string> hvsocket_request(const std::string& vm_runtime_id, std::uint32_t port, const std::string& line,
                                     std::chrono::milliseconds timeout) {
  if (!winsock_ready()) return fail(ErrorCode::host_unavailable, "Winsock 2.2 is not available");
  SOCKADDR_HV address{};
  address.Family = AF_HYPERV;
  auto vm = parse_guid(vm_runtime_id);
  auto service = parse_guid(vsock_service_id(port));
  if (!vm) return std::unexpected(vm.error());
  if (!service) return std::unexpected(service.error());
  address.VmId = *vm;
  address.ServiceId = *service;
  SOCKET s = socket(AF_HYPERV, SOCK_STREAM, HV_PROTOCOL_RAW);
  if (s == INVALID_SOCKET) return fail_win32("socket(AF_HYPERV)", static_cast<DWORD>(WSAGetLastError()));
  const DWORD ms = static_cast<DWORD>(timeout.count());
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, reinterpret_cast<const char*>(&ms), sizeof ms);
  setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, reinterpret_cast<const char*>(&ms), sizeof ms);
  if (connect(s, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    const DWORD err = static_cast<DWORD>(WSAGetLastError());
    closesocket(s);
    return fail_win32(fmt::format("connect to guest port {}", port), err);
  }
  std::string reply;
  if (send(s, line.data(), static_cast<int>(line.size()), 0) == static_cast<int>(line.size())) {
    char c = 0;
    while (recv(s, &c, 1, 0) == 1 && c != '\n') reply.push_back(c);
  }
  closesocket(s);
  if (reply.empty()) return fail(ErrorCode::internal, fmt::format("guest port {} gave no reply", port));
  return reply;
}

HostFact probe_hvsocket() {
  if (!winsock_ready()) return {false, "Winsock 2.2 is not available"};
  SOCKET s = socket(AF_HYPERV, SOCK_STREAM, HV_PROTOCOL_RAW);
  if (s == INVALID_SOCKET) {
    return {false, "socket(AF_HYPERV) failed: " + system_message(static_cast<DWORD>(WSAGetLastError()))};
  }
  closesocket(s);
  return {true, "AF_HYPERV sockets can be created"};
}

Result<std::unique_ptr<GuestServiceListener>> listen_hvsocket(const std::string& vm_runtime_id, std::uint32_t port,
                                                              std::function<bool()> vm_running) {
  if (!winsock_ready()) return fail(ErrorCode::host_unavailable, "Winsock 2.2 is not available");
  SOCKADDR_HV address{};
  address.Family = AF_HYPERV;
  if (!vm_runtime_id.empty()) {
    auto vm = parse_guid(vm_runtime_id);
    if (!vm) return std::unexpected(vm.error());
    address.VmId = *vm;
  }
  auto service = parse_guid(vsock_service_id(port));
  if (!service) return std::unexpected(service.error());
  address.ServiceId = *service;
  SOCKET s = socket(AF_HYPERV, SOCK_STREAM, HV_PROTOCOL_RAW);
  if (s == INVALID_SOCKET) return fail_win32("socket(AF_HYPERV)", static_cast<DWORD>(WSAGetLastError()));
  if (bind(s, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 || listen(s, 4) != 0) {
    const DWORD err = static_cast<DWORD>(WSAGetLastError());
    closesocket(s);
    return fail_win32(fmt::format("listen on Hyper-V socket service {}", vsock_service_id(port)), err);
  }
  return std::unique_ptr<GuestServiceListener>(std::make_unique<HvSocketListener>(s, std::move(vm_running)));
}

}  // namespace microagent::windows_hyperv::win32
