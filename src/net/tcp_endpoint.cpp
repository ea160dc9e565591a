#include "net/tcp_endpoint.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <fmt/core.h>

#include "net/port_spec.hpp"

namespace microagent::net {
namespace {

Result<sockaddr_in> address_of(const std::string& host, std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    return fail(ErrorCode::invalid_request, "'" + host + "' is not an IPv4 address");
  }
  return addr;
}

}  // namespace

Result<UniqueFd> listen_tcp(const std::string& host, std::uint16_t port) {
  auto addr = address_of(host, port);
  if (!addr) return std::unexpected(addr.error());
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return fail_errno("socket", errno);
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&*addr), sizeof *addr) != 0) {
    const int err = errno;
    if (err == EADDRINUSE) {
      return fail(ErrorCode::conflict, fmt::format("{}:{} is already in use on the host: publish on another port", host, port));
    }
    if (err == EADDRNOTAVAIL) {
      return fail(ErrorCode::invalid_request, fmt::format("{} is not an address of this host", host));
    }
    if (err == EACCES) {
      return fail(ErrorCode::permission_denied, fmt::format("binding {}:{} needs privileges: use a port above 1023", host, port));
    }
    return fail_errno(fmt::format("bind {}:{}", host, port), err);
  }
  if (::listen(fd.get(), 128) != 0) return fail_errno("listen", errno);
  return fd;
}

Result<UniqueFd> connect_tcp(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout) {
  auto addr = address_of(host, port);
  if (!addr) return std::unexpected(addr.error());
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return fail_errno("socket", errno);
  int err = 0;
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&*addr), sizeof *addr) != 0) {
    err = errno;
    if (err == EINPROGRESS) {
      pollfd p{fd.get(), POLLOUT, 0};
      const int rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
      if (rc <= 0) {
        err = ETIMEDOUT;
      } else {
        socklen_t len = sizeof err;
        ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
      }
    }
  }
  if (err != 0) {
    return fail(ErrorCode::host_unavailable, fmt::format("{}:{} is unreachable: {}", host, port, std::strerror(err)));
  }
  const int flags = ::fcntl(fd.get(), F_GETFL);
  ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
  const int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

Result<UniqueFd> connect_tcp(const std::string& target, std::chrono::milliseconds timeout) {
  auto hp = parse_host_port(target);
  if (!hp) return std::unexpected(hp.error());
  return connect_tcp(hp->host, hp->port, timeout);
}

}  // namespace microagent::net
