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
#include "guestinit/guest_clock.hpp"
#include "guestinit/workload_env.hpp"
#include "guestinit/workload_user.hpp"

namespace microagent::guestinit {
namespace {

namespace wire = connect_wire;

constexpr int kExitNotFound = 127;
constexpr int kExitCannotRun = 126;
// Bytes from the host waiting for the command's stdin; past this the host's
// stream is not read until the command catches up (backpressure).
constexpr std::size_t kMaxPendingStdin = 1 << 20;

// Written by the child on the CLOEXEC report pipe when it cannot exec.
struct ChildReport {
  int stage;  // 1 chdir, 2 exec, 3 setup, 4 user
  int err;
};

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

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// What the command runs with; everything is prepared before fork so the child
// only makes async-signal-safe calls.
struct Launch {
  std::vector<std::string> candidates;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string workdir;
  std::string display_name;
  std::string user_spec;              // as asked, for messages
  std::optional<WorkloadUser> user;   // nullopt: stay root
};

Result<Launch> plan_launch(const wire::ConnectRequest& request, const SessionOptions& options) {
  Launch launch;
  std::map<std::string, std::string> env = request.env;
  if (request.tty && !env.contains("TERM")) env["TERM"] = "xterm";
  launch.user_spec = request.user.empty() ? options.default_user : request.user;
  if (!launch.user_spec.empty()) {
    auto user = resolve_workload_user(launch.user_spec);
    if (!user) return std::unexpected(user.error());
    env.try_emplace("HOME", user->home);
    launch.user = std::move(*user);
  }
  launch.env = build_workload_env(env);
  if (request.command.empty()) {
    // argv[0] starting with '-' makes sh a login shell (reads /etc/profile).
    launch.candidates = {"/bin/sh"};
    launch.args = {"-sh"};
    launch.display_name = "/bin/sh";
  } else {
    launch.candidates = executable_candidates(request.command.front(), path_from_env(launch.env));
    launch.args = request.command;
    launch.display_name = request.command.front();
  }
  launch.workdir = request.workdir;
  return launch;
}

// The running command and the session's ends of its stdio. With a tty,
// `master` is both stdin and stdout.
struct Command {
  pid_t pid = -1;
  UniqueFd master;
  UniqueFd stdin_fd;
  UniqueFd stdout_fd;
  UniqueFd stderr_fd;
  UniqueFd report;
  int input() const { return master ? master.get() : stdin_fd.get(); }
};

[[noreturn]] void exec_child(const Launch& launch, char* const* argv, char* const* envp, int slave, int in, int out,
                             int err, int report_fd) {
  auto report = [&](int stage, int error, int code) {
    const ChildReport msg{stage, error};
    [[maybe_unused]] ssize_t n = ::write(report_fd, &msg, sizeof msg);
    ::_exit(code);
  };
  ::setsid();
  if (slave >= 0) {
    // The PTY becomes the controlling terminal of the new session, so the line
    // discipline turns ^C into SIGINT for the foreground process group.
    if (::ioctl(slave, TIOCSCTTY, 0) != 0) report(3, errno, kExitCannotRun);
    in = out = err = slave;
  }
  ::signal(SIGPIPE, SIG_DFL);
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (::dup2(in, STDIN_FILENO) < 0 || ::dup2(out, STDOUT_FILENO) < 0 || ::dup2(err, STDERR_FILENO) < 0) {
    report(3, errno, kExitCannotRun);
  }
  if (launch.user) {
    if (const int error = become_workload_user(*launch.user); error != 0) report(4, error, kExitCannotRun);
  }
  if (::chdir(launch.workdir.c_str()) != 0) report(1, errno, kExitCannotRun);
  bool saw_eacces = false;
  for (const auto& candidate : launch.candidates) {
    ::execve(candidate.c_str(), argv, envp);
    if (errno == EACCES) saw_eacces = true;
    else if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP && errno != ENAMETOOLONG) report(2, errno, kExitCannotRun);
  }
  if (saw_eacces) report(2, EACCES, kExitCannotRun);
  report(2, ENOENT, kExitNotFound);
  ::_exit(kExitNotFound);
}

std::optional<Command> start_command(const wire::ConnectRequest& request, const Launch& launch, std::string& error) {
  std::vector<char*> argv;
  for (const auto& arg : launch.args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& entry : launch.env) envp.push_back(const_cast<char*>(entry.c_str()));
  envp.push_back(nullptr);

  Command command;
  UniqueFd slave, in_read, out_write, err_write;
  auto make_pipe = [](UniqueFd& read_end, UniqueFd& write_end) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return false;
    read_end.reset(fds[0]);
    write_end.reset(fds[1]);
    return true;
  };
  if (request.tty) {
    command.master.reset(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
    char name[128];
    if (!command.master || ::grantpt(command.master.get()) != 0 || ::unlockpt(command.master.get()) != 0 ||
        ::ptsname_r(command.master.get(), name, sizeof name) != 0) {
      error = std::string("cannot allocate a pseudo-terminal: ") + std::strerror(errno);
      return std::nullopt;
    }
    slave.reset(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!slave) {
      error = std::string("cannot open ") + name + ": " + std::strerror(errno);
      return std::nullopt;
    }
    // The session's user owns its terminal, as login(1) arranges: programs that
    // reopen /dev/tty (passwd, sudo prompts) need to.
    if (launch.user && ::fchown(slave.get(), launch.user->uid, static_cast<gid_t>(-1)) != 0) {
      error = std::string("cannot give ") + name + " to user " + launch.user_spec + ": " + std::strerror(errno);
      return std::nullopt;
    }
    const winsize ws{request.size.rows, request.size.cols, 0, 0};
    ::ioctl(command.master.get(), TIOCSWINSZ, &ws);
  } else if (!make_pipe(in_read, command.stdin_fd) || !make_pipe(command.stdout_fd, out_write) ||
             !make_pipe(command.stderr_fd, err_write)) {
    error = std::string("cannot create pipes: ") + std::strerror(errno);
    return std::nullopt;
  }
  UniqueFd report_write;
  if (!make_pipe(command.report, report_write)) {
    error = std::string("cannot create pipes: ") + std::strerror(errno);
    return std::nullopt;
  }
  command.pid = ::fork();
  if (command.pid < 0) {
    error = std::string("fork: ") + std::strerror(errno);
    return std::nullopt;
  }
  if (command.pid == 0) {
    exec_child(launch, argv.data(), envp.data(), slave ? slave.get() : -1, in_read.get(), out_write.get(),
               err_write.get(), report_write.get());
  }
  // The parent must not hold the child's ends: EOF (or EIO on the master)
  // comes only when every copy is closed.
  for (auto* fd : {&command.master, &command.stdin_fd, &command.stdout_fd, &command.stderr_fd}) {
    if (*fd) set_nonblocking(fd->get());
  }
  return command;
}

std::string describe_failure(const ChildReport& report, const Launch& launch) {
  if (report.stage == 1) return "workdir not usable: " + launch.workdir + ": " + std::strerror(report.err);
  if (report.stage == 3) return std::string("cannot set up the command's terminal or stdio: ") + std::strerror(report.err);
  if (report.stage == 4) return "cannot switch to user " + launch.user_spec + ": " + std::strerror(report.err);
  if (report.err == ENOENT) return "command not found: " + launch.display_name;
  if (report.err == EACCES) return "command not executable: " + launch.display_name + ": Permission denied";
  return "cannot execute " + launch.display_name + ": " + std::strerror(report.err);
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
