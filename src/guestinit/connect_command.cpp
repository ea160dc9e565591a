#include "guestinit/connect_command.hpp"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "guestinit/workload_env.hpp"

namespace microagent::guestinit {

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

Result<Launch> plan_launch(const connect_wire::ConnectRequest& request, const SessionOptions& options) {
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


namespace {

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

}  // namespace

std::optional<Command> start_command(const connect_wire::ConnectRequest& request, const Launch& launch, std::string& error) {
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

}  // namespace microagent::guestinit
