#include "shim/connect_client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>

#include "common/connect_session.hpp"
#include "common/fd_io.hpp"
#include "common/unique_fd.hpp"

namespace microagent::shim {
namespace {

// SIGWINCH -> one byte on a self-pipe, so the input poll wakes. One session at a
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
  int fd() const { return installed_ ? read_.get() : -1; }
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

// The guest's connect port as a connected socket.
class FdGuestStream : public GuestStream {
 public:
  explicit FdGuestStream(int fd) : fd_(fd) {}
  Result<void> send(std::string_view bytes) override {
    if (!send_fully(fd_, bytes)) return fail_errno("send to the guest", errno);
    return {};
  }
  Result<std::string> receive() override {
    char buffer[65536];
    for (;;) {
      const ssize_t n = ::read(fd_, buffer, sizeof buffer);
      if (n >= 0) return std::string(buffer, static_cast<std::size_t>(n));
      if (errno == EINTR || errno == EAGAIN) continue;
      return fail_errno("read from the guest", errno);
    }
  }

 private:
  int fd_;
};

// stdin and, for a terminal session, window-size changes.
class FdInputSource : public ConnectInputSource {
 public:
  FdInputSource(int stdin_fd, int terminal_fd, WindowWatch* watch)
      : stdin_fd_(stdin_fd), terminal_fd_(terminal_fd), watch_(watch) {}

  std::optional<ConnectInput> next(std::chrono::milliseconds wait) override {
    pollfd fds[2] = {{stdin_fd_, POLLIN, 0}, {watch_ ? watch_->fd() : -1, POLLIN, 0}};
    if (::poll(fds, 2, static_cast<int>(wait.count())) <= 0) return std::nullopt;
    if (fds[1].revents) {
      watch_->drain();
      winsize ws{};
      if (::ioctl(terminal_fd_, TIOCGWINSZ, &ws) == 0) {
        ConnectInput resize;
        resize.kind = ConnectInput::Kind::resize;
        resize.size = {ws.ws_row, ws.ws_col};
        return resize;
      }
    }
    if (!fds[0].revents) return std::nullopt;
    char buffer[65536];
    const ssize_t n = ::read(stdin_fd_, buffer, sizeof buffer);
    if (n > 0) return ConnectInput{ConnectInput::Kind::bytes, std::string(buffer, static_cast<std::size_t>(n)), {}};
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return std::nullopt;
    return ConnectInput{ConnectInput::Kind::end, {}, {}};
  }

 private:
  int stdin_fd_;
  int terminal_fd_;
  WindowWatch* watch_;
};

class FdOutput : public ConnectOutput {
 public:
  explicit FdOutput(const ConnectIo& io) : io_(io) {}
  void write_stdout(std::string_view bytes) override { write_fully(io_.stdout_fd, bytes); }
  void write_stderr(std::string_view bytes) override { write_fully(io_.stderr_fd, bytes); }

 private:
  const ConnectIo& io_;
};

}  // namespace

Result<int> run_connect_session(int stream_fd, const connect_wire::ConnectRequest& request, ConnectIo& io) {
  WindowWatch watch;
  const bool watch_window = request.tty && io.terminal_fd >= 0 && io.stdin_fd >= 0 && watch.start();
  FdGuestStream stream(stream_fd);
  FdInputSource input(io.stdin_fd, io.terminal_fd, watch_window ? &watch : nullptr);
  FdOutput output(io);
  auto result = microagent::run_connect_session(stream, request, io.stdin_fd >= 0 ? &input : nullptr, output);
  if (!result) return std::unexpected(result.error());
  io.errors = result->errors;
  return result->exit_code;
}

}  // namespace microagent::shim
