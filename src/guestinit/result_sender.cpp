#include "guestinit/result_sender.hpp"

#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <expected>
#include <string>

#include "common/unique_fd.hpp"
#include "guestinit/guest_clock.hpp"

namespace microagent::guestinit {
namespace {

// Waits for `events` on fd until the monotonic deadline; false on timeout.
bool wait_for(int fd, short events, std::uint64_t deadline_ms) {
  while (true) {
    const std::uint64_t now = monotonic_ms();
    if (now >= deadline_ms) return false;
    pollfd p{fd, events, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(deadline_ms - now));
    if (ready > 0) return true;
    if (ready < 0 && errno != EINTR) return true;  // let the next syscall report the error
  }
}

}  // namespace

std::expected<UniqueFd, int> connect_vsock(std::uint32_t cid, std::uint32_t port, int timeout_ms) {
  UniqueFd fd(::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return std::unexpected(errno);
  sockaddr_vm addr{};
  addr.svm_family = AF_VSOCK;
  addr.svm_cid = cid;
  addr.svm_port = port;
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) return fd;
  if (errno != EINPROGRESS) return std::unexpected(errno);
  if (!wait_for(fd.get(), POLLOUT, monotonic_ms() + static_cast<std::uint64_t>(timeout_ms))) {
    return std::unexpected(ETIMEDOUT);
  }
  int so_error = 0;
  socklen_t len = sizeof so_error;
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &so_error, &len);
  if (so_error != 0) return std::unexpected(so_error);
  return fd;
}


Result<void> write_before(int fd, std::string_view payload, std::uint64_t deadline_ms) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  while (!payload.empty()) {
    const ssize_t n = ::send(fd, payload.data(), payload.size(), MSG_NOSIGNAL);
    if (n > 0) {
      payload.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) return fail_errno("write to the host", errno);
    if (!wait_for(fd, POLLOUT, deadline_ms)) {
      return fail(ErrorCode::host_unavailable, "write to the host: host did not read it in time");
    }
  }
  return {};
}

Result<void> deliver_over_stream(int fd, std::string_view payload, int timeout_ms) {
  const std::uint64_t deadline = monotonic_ms() + static_cast<std::uint64_t>(timeout_ms);
  if (auto written = write_before(fd, payload, deadline); !written) return written;
  if (::shutdown(fd, SHUT_WR) != 0) return fail_errno("shutdown(SHUT_WR)", errno);
  // The host closes its end once it holds the whole result: that EOF is the ack.
  char sink[256];
  while (true) {
    const ssize_t n = ::read(fd, sink, sizeof sink);
    if (n == 0) return {};
    if (n > 0 || (n < 0 && errno == EINTR)) continue;
    if (errno == ECONNRESET) return {};  // the host closed without reading our FIN: it had the data
    if (errno != EAGAIN) return fail_errno("wait for host acknowledgement", errno);
    if (!wait_for(fd, POLLIN, deadline)) {
      return fail(ErrorCode::host_unavailable, "host did not acknowledge the result in time");
    }
  }
}

Result<UniqueFd> connect_host_channel(std::uint32_t port, const DeliveryOptions& options) {
  int last_error = 0;
  for (int attempt = 0; attempt < options.connect_attempts; ++attempt) {
    if (attempt > 0) ::usleep(static_cast<useconds_t>(options.retry_delay_ms) * 1000);
    auto fd = connect_vsock(options.cid, port, options.connect_timeout_ms);
    if (fd) return std::move(*fd);
    last_error = fd.error();
    // No AF_VSOCK at all (module missing) or no vsock device behind it: these
    // never heal during a boot, so retrying would only delay power-off. A host
    // end that is merely late answers ECONNRESET/ECONNREFUSED instead.
    if (last_error == EAFNOSUPPORT || last_error == ENODEV) break;
  }
  return fail(ErrorCode::host_unavailable, "vsock connect to CID " + std::to_string(options.cid) + " port " +
                                               std::to_string(port) + ": " + std::strerror(last_error));
}

Result<void> send_result(std::uint32_t port, std::string_view payload, const DeliveryOptions& options) {
  auto fd = connect_host_channel(port, options);
  if (!fd) return std::unexpected(fd.error());
  return deliver_over_stream(fd->get(), payload, options.io_timeout_ms);
}

}  // namespace microagent::guestinit
