#include "common/stream_relay.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

namespace microagent {
namespace {

// The kernel could not allocate for this write (a guest's vsock packet buffer,
// say, under memory pressure): nothing is wrong with the stream, so the bytes
// are kept and the write is tried again shortly.
bool is_transient_shortage(int err) { return err == ENOMEM || err == ENOBUFS; }

constexpr int kBackoffMs = 10;

// One direction: bytes read from `from`, not yet written to `to`.
struct Direction {
  int from;
  int to;
  std::unique_ptr<char[]> buf = std::make_unique<char[]>(kRelayBufferBytes);
  std::size_t start = 0, end = 0;
  bool eof = false;       // `from` has no more bytes
  bool shut = false;      // `to` was shut down for writing
  bool backoff = false;   // the last write hit a transient shortage: retry on a timer
  std::uint64_t moved = 0;

  bool done() const { return shut; }
  bool wants_read() const { return !eof && end < kRelayBufferBytes; }
  bool wants_write() const { return start < end; }

  // Returns an errno on a hard failure (then the direction is at EOF), else 0.
  int pump_read() {
    const ssize_t n = ::recv(from, buf.get() + end, kRelayBufferBytes - end, 0);
    if (n > 0) {
      end += static_cast<std::size_t>(n);
    } else if (n == 0) {
      eof = true;
    } else if (errno != EAGAIN && errno != EINTR) {
      eof = true;
      return errno;
    }
    return 0;
  }

  int pump_write() {
    const ssize_t n = ::send(to, buf.get() + start, end - start, MSG_NOSIGNAL);
    backoff = n < 0 && is_transient_shortage(errno);
    if (n > 0) {
      start += static_cast<std::size_t>(n);
      moved += static_cast<std::uint64_t>(n);
      if (start == end) start = end = 0;
    } else if (n < 0 && errno != EAGAIN && errno != EINTR && !backoff) {
      // The receiver is gone: nothing more can go this way.
      const int err = errno;
      start = end = 0;
      eof = shut = true;
      return err;
    }
    return 0;
  }

  void finish_if_drained() {
    if (eof && !shut && start == end) {
      ::shutdown(to, SHUT_WR);
      shut = true;
    }
  }
};

void set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

}  // namespace

RelayStats relay_streams(int a, int b, int stop_fd) {
  set_nonblocking(a);
  set_nonblocking(b);
  Direction ab{a, b}, ba{b, a};
  RelayStats stats;
  while (!(ab.done() && ba.done())) {
    pollfd fds[3];
    short a_events = 0, b_events = 0;
    if (ab.wants_read()) a_events |= POLLIN;
    // A writer in backoff waits for its timer, not POLLOUT (which would spin).
    if (ba.wants_write() && !ba.backoff) a_events |= POLLOUT;
    if (ba.wants_read()) b_events |= POLLIN;
    if (ab.wants_write() && !ab.backoff) b_events |= POLLOUT;
    // A socket we want nothing from is left out: POLLHUP would otherwise wake us in a loop.
    fds[0] = {a_events ? a : -1, a_events, 0};
    fds[1] = {b_events ? b : -1, b_events, 0};
    fds[2] = {stop_fd, POLLIN, 0};
    const int rc = ::poll(fds, stop_fd >= 0 ? 3 : 2, ab.backoff || ba.backoff ? kBackoffMs : -1);
    if (rc < 0) {
      if (errno == EINTR) continue;
      stats.error = errno;
      break;
    }
    if (stop_fd >= 0 && fds[2].revents) {
      stats.stopped = true;
      break;
    }
    // Each direction ends on its own: a failed read (a reset) counts as EOF, so
    // the bytes already read still reach the other side (a server that answers
    // and resets must not lose its answer); a failed write means the receiver
    // is gone, so that direction's bytes are dropped and its reading stops.
    auto note = [&](int err) {
      if (err && !stats.error) stats.error = err;
    };
    // POLLHUP/POLLERR without POLLIN still means "read to learn what happened".
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) && ab.wants_read()) note(ab.pump_read());
    if ((fds[1].revents & (POLLIN | POLLHUP | POLLERR)) && ba.wants_read()) note(ba.pump_read());
    // A hung-up peer gets a write too: it fails with EPIPE instead of polling forever.
    if (ab.wants_write() && (ab.backoff || (fds[1].revents & (POLLOUT | POLLERR | POLLHUP)))) note(ab.pump_write());
    if (ba.wants_write() && (ba.backoff || (fds[0].revents & (POLLOUT | POLLERR | POLLHUP)))) note(ba.pump_write());
    ab.finish_if_drained();
    ba.finish_if_drained();
  }
  if (stats.stopped) {
    ::shutdown(a, SHUT_RDWR);
    ::shutdown(b, SHUT_RDWR);
  }
  stats.a_to_b = ab.moved;
  stats.b_to_a = ba.moved;
  return stats;
}

}  // namespace microagent
