#include "guestinit/workload_runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "common/clock.hpp"
#include "common/unique_fd.hpp"
#include "guestinit/guest_clock.hpp"
#include "guestinit/output_capture.hpp"
#include "guestinit/workload_env.hpp"
#include "guestinit/workload_user.hpp"

namespace microagent::guestinit {
namespace {

// What the child writes to the CLOEXEC report pipe when it cannot exec. A
// successful exec closes the pipe with nothing written, so the parent's read
// returns 0: no timeout needed, no race.
enum class ChildStage : int { chdir = 1, exec = 2, setup = 3, user = 4 };
struct ChildReport {
  ChildStage stage;
  int err;
};

constexpr int kExitNotFound = 127;
constexpr int kExitCannotRun = 126;

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

std::optional<Pipe> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return std::nullopt;
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// Everything here is async-signal-safe: the parent prepared all strings before fork.
[[noreturn]] void exec_child(const char* workdir, const std::vector<std::string>& candidates,
                             char* const* argv, char* const* envp, int devnull, int out_fd,
                             int err_fd, int report_fd, const WorkloadUser* user) {
  auto report = [&](ChildStage stage, int err, int exit_code) {
    const ChildReport msg{stage, err};
    [[maybe_unused]] ssize_t n = ::write(report_fd, &msg, sizeof msg);
    ::_exit(exit_code);
  };
  ::setsid();  // own session: console signals for init never reach the workload
  ::signal(SIGPIPE, SIG_DFL);  // init ignores SIGPIPE; ignored dispositions survive exec
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (::dup2(devnull, STDIN_FILENO) < 0 || ::dup2(out_fd, STDOUT_FILENO) < 0 ||
      ::dup2(err_fd, STDERR_FILENO) < 0) {
    report(ChildStage::setup, errno, kExitCannotRun);
  }
  // No User: the workload keeps init's identity (root as PID 1; the caller's in --run-config mode).
  if (user != nullptr) {
    if (const int err = become_workload_user(*user); err != 0) report(ChildStage::user, err, kExitCannotRun);
  }
  if (::chdir(workdir) != 0) report(ChildStage::chdir, errno, kExitCannotRun);

  // execvpe's rules: keep searching past ENOENT/ENOTDIR; EACCES anywhere means
  // "found but not executable" unless a later entry works.
  bool saw_eacces = false;
  for (const auto& candidate : candidates) {
    ::execve(candidate.c_str(), argv, envp);
    const int err = errno;
    if (err == EACCES) {
      saw_eacces = true;
    } else if (err != ENOENT && err != ENOTDIR && err != ESTALE && err != ENAMETOOLONG && err != ELOOP) {
      report(ChildStage::exec, err, kExitCannotRun);
    }
  }
  if (saw_eacces) report(ChildStage::exec, EACCES, kExitCannotRun);
  report(ChildStage::exec, ENOENT, kExitNotFound);
  ::_exit(kExitNotFound);  // unreachable: report() exits
}

std::string describe_child_failure(const ChildReport& report, const GuestConfig& config) {
  const std::string& command = config.argv.front();
  switch (report.stage) {
    case ChildStage::chdir:
      return "workdir not usable: " + config.workdir + ": " + std::strerror(report.err);
    case ChildStage::setup:
      return std::string("cannot set up the workload's stdio: ") + std::strerror(report.err);
    case ChildStage::user:
      return "cannot switch to user " + config.user + ": " + std::strerror(report.err);
    case ChildStage::exec:
      if (report.err == ENOENT) return "command not found: " + command;
      if (report.err == EACCES) return "command not executable: " + command + ": Permission denied";
      return "cannot execute " + command + ": " + std::strerror(report.err);
  }
  return "cannot run " + command;
}

// Reads whatever is available; closes the fd at EOF or on a hard error.
void drain(UniqueFd& fd, BoundedOutput& into) {
  char buffer[65536];
  while (fd) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n > 0) {
      into.append(std::string_view(buffer, static_cast<std::size_t>(n)));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    fd.reset();
  }
}

void record_status(int status, GuestResult& result) {
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
}

// Returns true once the workload has been reaped (its status is in `result`).
bool reap(pid_t child, bool reap_orphans, GuestResult& result) {
  bool child_done = false;
  int status = 0;
  if (!reap_orphans) {
    if (::waitpid(child, &status, WNOHANG) == child) {
      record_status(status, result);
      child_done = true;
    }
    return child_done;
  }
  pid_t pid;
  while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
    if (pid == child) {
      record_status(status, result);
      child_done = true;
    }
  }
  return child_done;
}

}  // namespace

GuestResult run_workload(const GuestConfig& config, const RunOptions& options) {
  GuestResult result;
  result.started_at = rfc3339_now();
  const std::uint64_t started_ms = monotonic_ms();
  auto finish = [&]() -> GuestResult {
    result.finished_at = rfc3339_now();
    result.duration_ms = monotonic_ms() - started_ms;
    return result;
  };
  if (config.argv.empty() || config.argv.front().empty()) {
    result.error = "no command to run";
    return finish();
  }

  // Everything the child needs is built before fork.
  auto user = resolve_workload_user(config.user);
  if (!user) {
    result.error = user.error().message;
    return finish();
  }
  auto config_env = config.env;
  if (!config.user.empty()) config_env.try_emplace("HOME", user->home);
  const std::vector<std::string> env = build_workload_env(config_env);
  const std::vector<std::string> candidates = executable_candidates(config.argv.front(), path_from_env(env));
  std::vector<char*> argv;
  for (const auto& arg : config.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& entry : env) envp.push_back(const_cast<char*>(entry.c_str()));
  envp.push_back(nullptr);

  UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  auto out = make_pipe();
  auto err = make_pipe();
  auto report = make_pipe();
  if (!devnull || !out || !err || !report) {
    result.error = std::string("cannot prepare the workload's stdio: ") + std::strerror(errno);
    return finish();
  }

  const pid_t child = ::fork();
  if (child < 0) {
    result.error = std::string("fork: ") + std::strerror(errno);
    return finish();
  }
  if (child == 0) {
    exec_child(config.workdir.c_str(), candidates, argv.data(), envp.data(), devnull.get(),
               out->write.get(), err->write.get(), report->write.get(), config.user.empty() ? nullptr : &*user);
  }
  out->write.reset();
  err->write.reset();
  report->write.reset();

  ChildReport failure{};
  ssize_t got;
  do {
    got = ::read(report->read.get(), &failure, sizeof failure);
  } while (got < 0 && errno == EINTR);
  if (got == static_cast<ssize_t>(sizeof failure)) result.error = describe_child_failure(failure, config);

  ::fcntl(out->read.get(), F_SETFL, O_NONBLOCK);
  ::fcntl(err->read.get(), F_SETFL, O_NONBLOCK);
  // A pidfd turns the child's exit into a poll event; without one (old kernel)
  // a short poll timeout finds the exit instead.
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, child, 0)));

  BoundedOutput stdout_capture(config.output_limit);
  BoundedOutput stderr_capture(config.output_limit);
  bool exited = false;
  std::uint64_t drain_deadline = 0;
  while (true) {
    if ((!exited || options.reap_orphans) && reap(child, options.reap_orphans, result)) {
      exited = true;
      drain_deadline = monotonic_ms() + options.drain_after_exit_ms;
    }
    if (exited && !out->read && !err->read) break;
    int timeout_ms = -1;
    if (exited) {
      const std::uint64_t now = monotonic_ms();
      if (now >= drain_deadline) break;
      timeout_ms = static_cast<int>(drain_deadline - now);
    } else if (!pidfd) {
      timeout_ms = 20;
    } else if (options.reap_orphans) {
      timeout_ms = 500;  // orphans need reaping even while the workload is quiet
    }
    pollfd fds[3];
    nfds_t count = 0;
    if (out->read) fds[count++] = {out->read.get(), POLLIN, 0};
    if (err->read) fds[count++] = {err->read.get(), POLLIN, 0};
    if (!exited && pidfd) fds[count++] = {pidfd.get(), POLLIN, 0};
    if (::poll(fds, count, timeout_ms) < 0 && errno != EINTR) ::usleep(20000);  // never spin
    drain(out->read, stdout_capture);
    drain(err->read, stderr_capture);
  }
  if (options.reap_orphans) reap(child, true, result);  // orphans that ended with the output

  result.stdout_bytes = stdout_capture.total_bytes();
  result.stderr_bytes = stderr_capture.total_bytes();
  result.stdout_truncated = stdout_capture.truncated();
  result.stderr_truncated = stderr_capture.truncated();
  result.stdout_data = stdout_capture.take_data();
  result.stderr_data = stderr_capture.take_data();
  return finish();
}

}  // namespace microagent::guestinit
