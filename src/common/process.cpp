#include "common/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/core.h>

extern char** environ;

namespace microagent {
namespace {

ExitStatus decode_wait_status(int status) {
  ExitStatus result;
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  return result;
}

std::vector<std::string> merged_environment(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string entry(*e);
    auto eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& [k, v] : extra) env[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

[[noreturn]] void child_fail(int error_pipe) {
  int err = errno;
  (void)!::write(error_pipe, &err, sizeof err);
  ::_exit(127);
}

void redirect(int fd, int target, int error_pipe) {
  if (fd == -2) return;
  int source = fd;
  if (fd == -1) source = ::open("/dev/null", O_RDWR);
  if (source < 0 || ::dup2(source, target) < 0) child_fail(error_pipe);
}

}  // namespace

std::string ExitStatus::describe() const {
  if (exit_code) return fmt::format("exit code {}", *exit_code);
  if (signal) return fmt::format("signal {} ({})", *signal, strsignal(*signal));
  return "unknown status";
}

std::optional<ExitStatus> ChildProcess::wait(std::optional<std::chrono::milliseconds> timeout) {
  if (status_) return status_;
  if (pid_ <= 0) return std::nullopt;
  if (timeout && pidfd_) {
    pollfd p{pidfd_.get(), POLLIN, 0};
    int rc;
    do {
      rc = ::poll(&p, 1, static_cast<int>(timeout->count()));
    } while (rc < 0 && errno == EINTR);
    if (rc == 0) return std::nullopt;
  }
  int status = 0;
  pid_t rc;
  do {
    rc = ::waitpid(pid_, &status, 0);
  } while (rc < 0 && errno == EINTR);
  if (rc == pid_) status_ = decode_wait_status(status);
  return status_;
}

void ChildProcess::signal(int sig) const {
  if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

Result<ChildProcess> spawn_process(const std::vector<std::string>& argv, const SpawnOptions& options) {
  if (argv.empty()) return fail(ErrorCode::invalid_request, "empty command");
  std::vector<std::string> env = merged_environment(options.extra_env);
  std::vector<char*> c_argv, c_env;
  for (const auto& a : argv) c_argv.push_back(const_cast<char*>(a.c_str()));
  c_argv.push_back(nullptr);
  for (const auto& e : env) c_env.push_back(const_cast<char*>(e.c_str()));
  c_env.push_back(nullptr);

  int error_pipe[2];
  if (::pipe2(error_pipe, O_CLOEXEC) != 0) return fail_errno("pipe", errno);
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    ::close(error_pipe[0]);
    ::close(error_pipe[1]);
    return fail_errno("fork", err);
  }
  if (pid == 0) {
    ::close(error_pipe[0]);
    if (options.parent_death_signal != 0) {
      if (::prctl(PR_SET_PDEATHSIG, options.parent_death_signal) != 0) child_fail(error_pipe[1]);
      // The parent may have died between fork and prctl: then no signal comes.
      if (::getppid() != parent) ::_exit(128 + options.parent_death_signal);
    }
    if (options.new_session) ::setsid();
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    redirect(options.stdin_fd == -1 ? -1 : options.stdin_fd, 0, error_pipe[1]);
    redirect(options.stdout_fd, 1, error_pipe[1]);
    redirect(options.stderr_fd, 2, error_pipe[1]);
    if (options.cwd && ::chdir(options.cwd->c_str()) != 0) child_fail(error_pipe[1]);
    ::execvpe(c_argv[0], c_argv.data(), c_env.data());
    child_fail(error_pipe[1]);
  }
  ::close(error_pipe[1]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(error_pipe[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  ::close(error_pipe[0]);
  if (n == sizeof child_errno) {
    int status;
    ::waitpid(pid, &status, 0);
    if (child_errno == ENOENT) return fail(ErrorCode::not_found, "program not found: " + argv[0]);
    return fail_errno("exec " + argv[0], child_errno);
  }
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  return ChildProcess(pid, std::move(pidfd));
}

namespace {

// A child that exits before reading all its input (a supervisor refusing an
// oversized request) must cost us EPIPE, not a SIGPIPE that kills the caller:
// SIGPIPE is blocked for this thread during the write and, if the write raised
// it, taken back before unblocking.
ssize_t write_without_sigpipe(int fd, const char* data, size_t size) {
  sigset_t pipe_only, previous;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  sigset_t pending;
  sigpending(&pending);
  const bool already_pending = sigismember(&pending, SIGPIPE) == 1;
  ::pthread_sigmask(SIG_BLOCK, &pipe_only, &previous);
  const ssize_t n = ::write(fd, data, size);
  const int saved = errno;
  if (n < 0 && saved == EPIPE && !already_pending) {
    const timespec now{0, 0};
    while (::sigtimedwait(&pipe_only, nullptr, &now) < 0 && errno == EINTR) {
    }
  }
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  errno = saved;
  return n;
}

}  // namespace

Result<CommandOutput> run_command(const std::vector<std::string>& argv, const std::string& input,
                                  const SpawnOptions& base) {
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC)) return fail_errno("pipe", errno);
  UniqueFd in_r(in[0]), in_w(in[1]), out_r(out[0]), out_w(out[1]), err_r(err[0]), err_w(err[1]);
  SpawnOptions options = base;
  options.stdin_fd = in_r.get();
  options.stdout_fd = out_w.get();
  options.stderr_fd = err_w.get();
  auto child = spawn_process(argv, options);
  if (!child) return std::unexpected(child.error());
  in_r.reset();
  out_w.reset();
  err_w.reset();
  ::fcntl(in_w.get(), F_SETFL, O_NONBLOCK);

  CommandOutput result;
  size_t written = 0;
  if (input.empty()) in_w.reset();
  while (out_r || err_r) {
    pollfd fds[3];
    int count = 0;
    if (out_r) fds[count++] = {out_r.get(), POLLIN, 0};
    if (err_r) fds[count++] = {err_r.get(), POLLIN, 0};
    if (in_w) fds[count++] = {in_w.get(), POLLOUT, 0};
    if (::poll(fds, count, -1) < 0) {
      if (errno == EINTR) continue;
      return fail_errno("poll", errno);
    }
    for (int i = 0; i < count; ++i) {
      if (!fds[i].revents) continue;
      if (in_w && fds[i].fd == in_w.get()) {
        ssize_t n = write_without_sigpipe(in_w.get(), input.data() + written, input.size() - written);
        if (n > 0) written += static_cast<size_t>(n);
        if (n < 0 && errno != EAGAIN && errno != EINTR) in_w.reset();
        if (written == input.size()) in_w.reset();
        continue;
      }
      char buf[65536];
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        (fds[i].fd == out_r.get() ? result.out : result.err).append(buf, static_cast<size_t>(n));
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        if (fds[i].fd == out_r.get()) out_r.reset();
        else err_r.reset();
      }
    }
  }
  in_w.reset();
  result.status = child->wait().value_or(ExitStatus{});
  return result;
}

std::optional<std::string> find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    if (::access(name.c_str(), X_OK) == 0) return name;
    return std::nullopt;
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  dirs += ":/usr/local/sbin:/usr/sbin:/sbin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string candidate = dirs.substr(start, end - start) + "/" + name;
    if (end > start && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return std::nullopt;
}

}  // namespace microagent
