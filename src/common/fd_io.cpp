#include "common/fd_io.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace microagent {
namespace {

template <class WriteOnce>
bool write_loop(int fd, std::string_view data, int stall_ms, WriteOnce write_once) {
  while (!data.empty()) {
    const ssize_t n = write_once(data);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, stall_ms) == 0) return false;
      continue;
    }
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

bool write_fully(int fd, std::string_view data, int stall_ms) {
  return write_loop(fd, data, stall_ms, [fd](std::string_view d) { return ::write(fd, d.data(), d.size()); });
}

bool send_fully(int fd, std::string_view data, int stall_ms) {
  return write_loop(fd, data, stall_ms,
                    [fd](std::string_view d) { return ::send(fd, d.data(), d.size(), MSG_NOSIGNAL); });
}

}  // namespace microagent
