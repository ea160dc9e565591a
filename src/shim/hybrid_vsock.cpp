#include "shim/hybrid_vsock.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace microagent::shim {
namespace {

Result<sockaddr_un> unix_address(const std::filesystem::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string text = path.string();
  if (text.size() >= sizeof(addr.sun_path)) {
    return fail(ErrorCode::invalid_request, "unix socket path too long (" + std::to_string(text.size()) +
                                                " bytes, limit 107): " + text + "; use a shorter --state-dir");
  }
  std::memcpy(addr.sun_path, text.c_str(), text.size() + 1);
  return addr;
}

int remaining_ms(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

}  // namespace

bool fits_unix_socket_path(const std::filesystem::path& path) {
  return path.string().size() < sizeof(sockaddr_un{}.sun_path);
}

std::filesystem::path guest_port_socket(const std::filesystem::path& uds, std::uint32_t port) {
  return uds.string() + "_" + std::to_string(port);
}

Result<UniqueFd> listen_for_guest_connections(const std::filesystem::path& uds, std::uint32_t port) {
  const auto path = guest_port_socket(uds, port);
  auto addr = unix_address(path);
  if (!addr) return std::unexpected(addr.error());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return fail_errno("socket", errno);
  ::unlink(path.c_str());
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&*addr), sizeof *addr) != 0) {
    return fail_errno("bind " + path.string(), errno);
  }
  if (::listen(fd.get(), 64) != 0) return fail_errno("listen " + path.string(), errno);
  return fd;
}

Result<UniqueFd> connect_to_guest(const std::filesystem::path& uds, std::uint32_t port,
                                  std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto addr = unix_address(uds);
  if (!addr) return std::unexpected(addr.error());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return fail_errno("socket", errno);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&*addr), sizeof *addr) != 0) {
    return fail(ErrorCode::not_found, "vsock endpoint " + uds.string() + " is not accepting connections: " +
                                          std::strerror(errno));
  }
  const std::string hello = "CONNECT " + std::to_string(port) + "\n";
  if (::send(fd.get(), hello.data(), hello.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(hello.size())) {
    return fail_errno("send CONNECT", errno);
  }
  // Read the reply one byte at a time so no payload byte after '\n' is consumed.
  std::string reply;
  while (reply.empty() || reply.back() != '\n') {
    pollfd p{fd.get(), POLLIN, 0};
    int rc = ::poll(&p, 1, remaining_ms(deadline));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) return fail(ErrorCode::host_unavailable, "timed out waiting for the guest to accept vsock port " + std::to_string(port));
    char c;
    ssize_t n = ::read(fd.get(), &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(ErrorCode::not_found, "guest refused vsock port " + std::to_string(port));
    reply.push_back(c);
    if (reply.size() > 64) return fail(ErrorCode::internal, "malformed vsock handshake reply");
  }
  if (reply.rfind("OK ", 0) != 0) return fail(ErrorCode::internal, "unexpected vsock handshake reply: " + reply);
  return fd;
}

Result<std::string> read_stream_to_end(int fd, std::size_t max_bytes, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string data;
  char buf[65536];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    int rc = ::poll(&p, 1, remaining_ms(deadline));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return fail_errno("poll", errno);
    if (rc == 0) return fail(ErrorCode::internal, "timed out reading from the guest");
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return fail_errno("read", errno);
    if (n == 0) return data;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > max_bytes) return fail(ErrorCode::internal, "guest sent more than the allowed size");
  }
}

}  // namespace microagent::shim
