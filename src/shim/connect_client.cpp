#include "shim/connect_client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

#include "common/fd_io.hpp"
#include "common/unique_fd.hpp"

namespace microagent::shim {
namespace {

namespace wire = connect_wire;

// SIGWINCH -> one byte on a self-pipe, so the poll loop wakes. One session at a
// time per process watches the window (the CLI runs one).
std::atomic<int> g_winch_write_fd{-1};

extern "C" void on_sigwinch(int) {
  const int saved = errno;
  const int fd = g_winch_write_fd.load();
  if (fd >= 0) [[maybe_unused]] ssize_t n = ::write(fd, "w", 1);
  errno = saved;
}

class WindowWatch {
 public:
  bool start() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return false;
    read_.reset(fds[0]);
    write_.reset(fds[1]);
    g_winch_write_fd = write_.get();
    struct sigaction action {};
    action.sa_handler = on_sigwinch;
    action.sa_flags = SA_RESTART;
    ::sigemptyset(&action.sa_mask);
    installed_ = ::sigaction(SIGWINCH, &action, &previous_) == 0;
    return installed_;
  }
  ~WindowWatch() {
    if (installed_) ::sigaction(SIGWINCH, &previous_, nullptr);
    g_winch_write_fd = -1;
  }
  int fd() const { return read_.get(); }
  void drain() {
    char buffer[64];
    while (::read(read_.get(), buffer, sizeof buffer) > 0) {
    }
  }

 private:
  UniqueFd read_;
  UniqueFd write_;
  struct sigaction previous_ {};
  bool installed_ = false;
};

}  // namespace

Result<int> run_connect_session(int stream_fd, const wire::ConnectRequest& request, ConnectIo& io) {
  WindowWatch watch;
  const bool watch_window = request.tty && io.terminal_fd >= 0 && watch.start();
  if (!send_fully(stream_fd, wire::connect_request_to_line(request))) {
    return fail_errno("send the connect request", errno);
  }
  bool stdin_open = io.stdin_fd >= 0;
  if (!stdin_open && !send_fully(stream_fd, wire::encode_frame(wire::FrameType::stdin_eof, {}))) {
    return fail_errno("send stdin end", errno);
  }
  std::string inbound;
  char buffer[65536];
  while (true) {
    pollfd fds[3] = {{stream_fd, POLLIN, 0},
                     {stdin_open ? io.stdin_fd : -1, POLLIN, 0},
                     {watch_window ? watch.fd() : -1, POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return fail_errno("poll", errno);
    }
    if (fds[2].revents) {
      watch.drain();
      winsize ws{};
      if (::ioctl(io.terminal_fd, TIOCGWINSZ, &ws) == 0) {
        send_fully(stream_fd, wire::encode_frame(wire::FrameType::resize, wire::encode_resize({ws.ws_row, ws.ws_col})));
      }
    }
    if (fds[1].revents) {
      const ssize_t n = ::read(io.stdin_fd, buffer, sizeof buffer);
      if (n > 0) {
        send_fully(stream_fd, wire::encode_frame(wire::FrameType::stdin_data, std::string_view(buffer, static_cast<std::size_t>(n))));
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        stdin_open = false;
        send_fully(stream_fd, wire::encode_frame(wire::FrameType::stdin_eof, {}));
      }
    }
    if (!fds[0].revents) continue;
    const ssize_t n = ::read(stream_fd, buffer, sizeof buffer);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      return fail(ErrorCode::host_unavailable,
                  "the guest closed the connect session before sending the command's exit status" +
                      (io.errors.empty() ? std::string() : " (" + io.errors + ")"));
    }
    inbound.append(buffer, static_cast<std::size_t>(n));
    while (true) {
      auto frame = wire::take_frame(inbound);
      if (!frame) return std::unexpected(frame.error());
      if (!*frame) break;
      const auto& [type, payload] = **frame;
      switch (type) {
        case wire::FrameType::stdout_data:
          write_fully(io.stdout_fd, payload);
          break;
        case wire::FrameType::stderr_data:
          write_fully(io.stderr_fd, payload);
          break;
        case wire::FrameType::error:
          io.errors += (io.errors.empty() ? "" : "; ") + payload;
          write_fully(io.stderr_fd, "microagent: " + payload + (request.tty ? "\r\n" : "\n"));
          break;
        case wire::FrameType::exit: {
          auto status = wire::decode_exit(payload);
          if (!status) return std::unexpected(status.error());
          return status->as_exit_code();
        }
        default:
          return fail(ErrorCode::internal, "the guest sent a " + std::string(wire::to_string(type)) +
                                               " frame, which only the host may send");
      }
    }
  }
}

}  // namespace microagent::shim
