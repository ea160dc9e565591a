#include "guestinit/connect_server.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/fd_io.hpp"
#include "common/connect_wire.hpp"
#include "common/unique_fd.hpp"
#include "guestinit/connect_command.hpp"
#include "guestinit/guest_clock.hpp"

namespace microagent::guestinit {
namespace {

namespace wire = connect_wire;

// Bytes from the host waiting for the command's stdin; past this the host's
// stream is not read until the command catches up (backpressure).
constexpr std::size_t kMaxPendingStdin = 1 << 20;

// Reads the request line; bytes after the '\n' (early frames) go to `rest`.
std::optional<std::string> read_request_line(int fd, int timeout_ms, std::string& rest) {
  const std::uint64_t deadline = monotonic_ms() + static_cast<std::uint64_t>(timeout_ms);
  std::string data;
  char buffer[4096];
  while (true) {
    if (const auto nl = data.find('\n'); nl != std::string::npos) {
      rest = data.substr(nl + 1);
      data.resize(nl + 1);
      return data;
    }
    if (data.size() > wire::kMaxRequestLine) return std::nullopt;
    const std::uint64_t now = monotonic_ms();
    if (now >= deadline) return std::nullopt;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(deadline - now)) <= 0) continue;
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return std::nullopt;
    data.append(buffer, static_cast<std::size_t>(n));
  }
}

class Session {
 public:
  Session(int stream, Command command, bool tty, const SessionOptions& options)
      : stream_(stream), cmd_(std::move(command)), tty_(tty), options_(options),
        pidfd_(static_cast<int>(::syscall(SYS_pidfd_open, cmd_.pid, 0))) {}

  // Returns the exit status, or nullopt when the host went away.
  std::optional<wire::ExitStatus> pump(std::string inbound) {
    inbound_ = std::move(inbound);
    if (!handle_inbound()) end_command(/*host_gone=*/false);
    while (true) {
      reap();
      if (exited_ && !output_open()) break;
      const std::uint64_t now = monotonic_ms();
      if (exited_ && now >= drain_deadline_) break;
      if (stop_reading_ && !exited_ && now >= kill_deadline_) {
        ::kill(-cmd_.pid, SIGKILL);
        ::kill(cmd_.pid, SIGKILL);
      }
      std::vector<pollfd> fds;
      const bool read_stream = !stop_reading_ && pending_stdin_.size() < kMaxPendingStdin;
      fds.push_back({read_stream ? stream_ : -1, POLLIN, 0});
      fds.push_back({output_fd(), POLLIN, 0});
      fds.push_back({cmd_.stderr_fd ? cmd_.stderr_fd.get() : -1, POLLIN, 0});
      fds.push_back({!pending_stdin_.empty() && input_open() ? cmd_.input() : -1, POLLOUT, 0});
      fds.push_back({!exited_ && pidfd_ ? pidfd_.get() : -1, POLLIN, 0});
      int timeout = exited_ ? static_cast<int>(drain_deadline_ - now) : (pidfd_ ? 1000 : 50);
      if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) ::usleep(20000);
      if (fds[0].revents) read_host();
      if (fds[3].revents) flush_stdin();
      drain_output();
    }
    drain_output();
    if (gone_) return std::nullopt;
    wire::ExitStatus status;
    if (WIFSIGNALED(status_)) status.signal = WTERMSIG(status_);
    else status.exit_code = WEXITSTATUS(status_);
    return status;
  }

 private:
  int output_fd() const { return tty_ ? (master_readable_ ? cmd_.master.get() : -1) : (cmd_.stdout_fd ? cmd_.stdout_fd.get() : -1); }
  bool output_open() const { return output_fd() >= 0 || cmd_.stderr_fd.valid(); }
  bool input_open() const { return tty_ ? cmd_.master.valid() : cmd_.stdin_fd.valid(); }

  void reap() {
    if (exited_) return;
    if (::waitpid(cmd_.pid, &status_, WNOHANG) == cmd_.pid) {
      exited_ = true;
      drain_deadline_ = monotonic_ms() + options_.drain_after_exit_ms;
    }
  }

  // The host went away (nobody to report to), or broke the protocol (it still
  // gets the error and the exit status): either way the command is hung up on.
  void end_command(bool host_gone) {
    if (host_gone) gone_ = true;
    if (stop_reading_) return;
    stop_reading_ = true;
    ::kill(-cmd_.pid, SIGHUP);
    ::kill(cmd_.pid, SIGHUP);
    kill_deadline_ = monotonic_ms() + 1000;
  }

  void read_host() {
    char buffer[65536];
    const ssize_t n = ::read(stream_, buffer, sizeof buffer);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) return end_command(/*host_gone=*/true);
    inbound_.append(buffer, static_cast<std::size_t>(n));
    if (!handle_inbound()) end_command(/*host_gone=*/false);
  }

  bool handle_inbound() {
    while (true) {
      auto frame = wire::take_frame(inbound_);
      if (!frame) {
        send(wire::FrameType::error, frame.error().message);
        return false;
      }
      if (!*frame) return true;
      apply(**frame);
    }
  }

  void apply(const wire::Frame& frame) {
    switch (frame.type) {
      case wire::FrameType::stdin_data:
        if (!stdin_eof_) pending_stdin_ += frame.payload;
        break;
      case wire::FrameType::stdin_eof:
        if (stdin_eof_) break;
        stdin_eof_ = true;
        // A terminal has no half-close: its EOF is the VEOF character (^D).
        if (tty_) pending_stdin_.push_back('\x04');
        break;
      case wire::FrameType::resize:
        if (auto size = wire::decode_resize(frame.payload); size && tty_) {
          const winsize ws{size->rows, size->cols, 0, 0};
          ::ioctl(cmd_.master.get(), TIOCSWINSZ, &ws);  // the kernel sends SIGWINCH
        }
        break;
      case wire::FrameType::signal:
        if (auto signo = wire::decode_signal(frame.payload); signo && !exited_) {
          pid_t group = cmd_.pid;
          if (tty_) {
            const pid_t foreground = ::tcgetpgrp(cmd_.master.get());
            if (foreground > 0) group = foreground;
          }
          ::kill(-group, *signo);
        }
        break;
      default:
        break;  // guest -> host types from the host are ignored
    }
    flush_stdin();
  }

  void flush_stdin() {
    while (!pending_stdin_.empty() && input_open()) {
      const ssize_t n = ::write(cmd_.input(), pending_stdin_.data(), pending_stdin_.size());
      if (n > 0) {
        pending_stdin_.erase(0, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return;
      pending_stdin_.clear();  // the command closed its stdin: drop the rest
      if (!tty_) cmd_.stdin_fd.reset();
    }
    if (stdin_eof_ && pending_stdin_.empty() && !tty_) cmd_.stdin_fd.reset();
  }

  // Forwards whatever the command has written so far.
  void drain_output() {
    if (tty_) {
      if (master_readable_ && !forward(cmd_.master.get(), wire::FrameType::stdout_data)) master_readable_ = false;
    } else if (cmd_.stdout_fd && !forward(cmd_.stdout_fd.get(), wire::FrameType::stdout_data)) {
      cmd_.stdout_fd.reset();
    }
    if (cmd_.stderr_fd && !forward(cmd_.stderr_fd.get(), wire::FrameType::stderr_data)) cmd_.stderr_fd.reset();
  }

  // false at EOF (or EIO: a PTY whose slave side is closed everywhere).
  bool forward(int fd, wire::FrameType type) {
    char buffer[32768];
    while (true) {
      const ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n > 0) {
        send(type, std::string_view(buffer, static_cast<std::size_t>(n)));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      return n < 0 && errno == EAGAIN;
    }
  }

  void send(wire::FrameType type, std::string_view payload) {
    if (gone_) return;
    if (!send_fully(stream_, wire::encode_frame(type, payload))) end_command(/*host_gone=*/true);
  }

  int stream_;
  Command cmd_;
  bool tty_;
  SessionOptions options_;
  UniqueFd pidfd_;
  std::string inbound_;
  std::string pending_stdin_;
  bool stdin_eof_ = false;
  bool master_readable_ = true;
  bool exited_ = false;
  bool gone_ = false;
  bool stop_reading_ = false;
  int status_ = 0;
  std::uint64_t drain_deadline_ = 0;
  std::uint64_t kill_deadline_ = 0;
};

// After the exit frame: half-close, then wait (briefly) for the host to close,
// so unread host bytes cannot turn our close into a reset that drops the frame.
void finish_stream(int fd) {
  ::shutdown(fd, SHUT_WR);
  const std::uint64_t deadline = monotonic_ms() + 2000;
  char sink[4096];
  while (monotonic_ms() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(deadline - monotonic_ms())) <= 0) return;
    const ssize_t n = ::read(fd, sink, sizeof sink);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) return;
  }
}

}  // namespace

void serve_connect_session(int stream_fd, const SessionOptions& options) {
  auto fail_session = [&](const std::string& message, int code) {
    send_fully(stream_fd, wire::encode_frame(wire::FrameType::error, message));
    send_fully(stream_fd, wire::encode_frame(wire::FrameType::exit, wire::encode_exit({code, std::nullopt})));
    finish_stream(stream_fd);
  };
  std::string rest;
  auto line = read_request_line(stream_fd, options.request_timeout_ms, rest);
  if (!line) return fail_session("connect request: no request line received", kExitCannotRun);
  auto request = wire::connect_request_from_line(*line);
  if (!request) return fail_session(request.error().message, kExitCannotRun);

  auto planned = plan_launch(*request, options);
  if (!planned) return fail_session(planned.error().message, kExitCannotRun);
  const Launch& launch = *planned;
  std::string error;
  auto command = start_command(*request, launch, error);
  if (!command) return fail_session(error, kExitCannotRun);

  UniqueFd report = std::move(command->report);
  ChildReport failure{};
  ssize_t got;
  do {
    got = ::read(report.get(), &failure, sizeof failure);
  } while (got < 0 && errno == EINTR);
  const bool exec_failed = got == static_cast<ssize_t>(sizeof failure);

  Session session(stream_fd, std::move(*command), request->tty, options);
  auto status = session.pump(std::move(rest));
  if (!status) return;  // the host went away: nobody to tell
  if (exec_failed) send_fully(stream_fd, wire::encode_frame(wire::FrameType::error, describe_failure(failure, launch)));
  send_fully(stream_fd, wire::encode_frame(wire::FrameType::exit, wire::encode_exit(*status)));
  finish_stream(stream_fd);
}

}  // namespace microagent::guestinit
