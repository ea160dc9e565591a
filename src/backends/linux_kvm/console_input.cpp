#include "backends/linux_kvm/console_input.hpp"

#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <chrono>
#include <cstring>

#include <fmt/core.h>

#include "common/unique_fd.hpp"
#include "shim/hybrid_vsock.hpp"

namespace microagent::linux_kvm {

using namespace std::chrono_literals;

Result<void> send_console_input(const std::filesystem::path& socket, const std::string& input) {
  if (!shim::fits_unix_socket_path(socket)) return fail(ErrorCode::internal, "console socket path too long");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket.c_str(), sizeof(addr.sun_path) - 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return fail(ErrorCode::conflict, "the console is not accepting input (is the workspace running?)");
  }
  if (::send(fd.get(), input.data(), input.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(input.size())) {
    return fail_errno("write console input", errno);
  }
  // QEMU takes input only as fast as the guest's UART drains, and drops what is
  // still queued when the client hangs up: stay connected until QEMU has read
  // it all (SIOCOUTQ: bytes the peer has not consumed), draining the console
  // output QEMU sends us meanwhile so the guest never blocks on it.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  for (;;) {
    int queued = 0;
    if (::ioctl(fd.get(), SIOCOUTQ, &queued) != 0 || queued == 0) return {};
    if (std::chrono::steady_clock::now() >= deadline) {
      return fail(ErrorCode::internal, fmt::format("the guest console did not take the input in time ({} bytes left)", queued));
    }
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, 20) > 0) {
      char sink[4096];
      if (::recv(fd.get(), sink, sizeof sink, MSG_DONTWAIT) == 0) return fail(ErrorCode::conflict, "the console closed");
    }
  }
}

}  // namespace microagent::linux_kvm
