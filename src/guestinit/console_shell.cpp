#include "guestinit/console_shell.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "guestinit/console_log.hpp"
#include "guestinit/workload_env.hpp"

namespace microagent::guestinit {
namespace {

// The session leader gives the serial line up with TIOCNOTTY before it exits:
// a controlling process that exits holding a (non-PTY) terminal makes the
// kernel hang that terminal up (disassociate_ctty -> tty_vhangup_session), and
// ttyS0 is also /dev/console, where init and the kernel keep writing. A shell
// exec'd as the session leader itself could not be made to do this.
void release_terminal() { ::ioctl(STDIN_FILENO, TIOCNOTTY); }

[[noreturn]] void exec_shell(const char* shell, char* const* argv, char* const* envp) {
  // Init ignores SIGPIPE and the leader blocks signals; the shell gets neither.
  ::signal(SIGPIPE, SIG_DFL);
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (::chdir("/") != 0) ::_exit(126);
  ::execve(shell, argv, envp);
  log_line(std::string("console shell: cannot run ") + shell + ": " + std::strerror(errno));
  ::_exit(127);
}

// In the forked child: a new session whose controlling terminal is the serial
// line (so ^C and job control work as on any console), with the shell as its
// one child. Waits for the shell, or for a hang-up from the service process,
// then releases the terminal and exits. Never returns.
[[noreturn]] void run_console_session(const char* tty, const char* shell, char* const* argv, char* const* envp) {
  ::setsid();
  // O_NONBLOCK: a serial open may otherwise wait for carrier (no CLOCAL).
  const int fd = ::open(tty, O_RDWR | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    log_line(std::string("console shell: open ") + tty + ": " + std::strerror(errno));
    ::_exit(126);
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  // 1 = take it over even if an earlier session still holds it (we are root).
  if (::ioctl(fd, TIOCSCTTY, 0) != 0 && ::ioctl(fd, TIOCSCTTY, 1) != 0) {
    log_line(std::string("console shell: ") + tty + " as controlling terminal: " + std::strerror(errno));
  }
  if (::dup2(fd, STDIN_FILENO) < 0 || ::dup2(fd, STDOUT_FILENO) < 0 || ::dup2(fd, STDERR_FILENO) < 0) ::_exit(126);
  if (fd > STDERR_FILENO) ::close(fd);

  sigset_t waited;
  ::sigemptyset(&waited);
  for (const int sig : {SIGCHLD, SIGHUP, SIGTERM}) ::sigaddset(&waited, sig);
  ::sigprocmask(SIG_BLOCK, &waited, nullptr);
  const pid_t child = ::fork();
  if (child == 0) exec_shell(shell, argv, envp);
  if (child < 0) {
    log_line(std::string("console shell: fork: ") + std::strerror(errno));
    release_terminal();
    ::_exit(126);
  }
  while (true) {
    const int sig = ::sigwaitinfo(&waited, nullptr);
    if (sig == SIGCHLD) {
      int status = 0;
      if (::waitpid(child, &status, WNOHANG) != child) continue;
      release_terminal();
      ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    }
    if (sig == SIGHUP || sig == SIGTERM) {
      // An interactive shell ignores SIGTERM, not SIGHUP. TIOCNOTTY also sends
      // SIGHUP and SIGCONT to the terminal's foreground job.
      ::kill(child, SIGHUP);
      ::kill(child, SIGCONT);
      release_terminal();
      ::_exit(0);
    }
  }
}

}  // namespace

std::uint64_t next_console_respawn_delay_ms(std::uint64_t previous_delay_ms, std::uint64_t lived_ms) {
  if (lived_ms >= kConsoleStableRunMs) return kConsoleRespawnMinMs;
  return std::clamp(previous_delay_ms * 2, kConsoleRespawnMinMs, kConsoleRespawnMaxMs);
}

std::vector<std::string> console_shell_env() { return build_workload_env({}); }

ConsoleShell::ConsoleShell(std::string tty, std::string shell) : tty_(std::move(tty)), shell_(std::move(shell)) {}

void ConsoleShell::start(std::uint64_t now_ms) {
  if (hung_up_) return;
  respawn_pending_ = false;
  // Built before fork: the child only makes system calls.
  const std::vector<std::string> env = console_shell_env();
  std::vector<char*> envp;
  for (const auto& entry : env) envp.push_back(const_cast<char*>(entry.c_str()));
  envp.push_back(nullptr);
  std::string argv0 = "-sh";  // a login shell, as getty would start it
  char* argv[] = {argv0.data(), nullptr};

  started_at_ms_ = now_ms;
  const pid_t pid = ::fork();
  if (pid == 0) run_console_session(tty_.c_str(), shell_.c_str(), argv, envp.data());
  if (pid < 0) {
    log_line(std::string("console shell: fork: ") + std::strerror(errno));
    on_exit(-1, now_ms);  // schedules the retry
    return;
  }
  pid_ = pid;
  debug_line("console shell started on " + tty_ + " (pid " + std::to_string(pid) + ")");
}

bool ConsoleShell::on_exit(pid_t pid, std::uint64_t now_ms) {
  if (pid != pid_ && pid != -1) return false;
  pid_ = -1;
  if (hung_up_) return true;
  delay_ms_ = next_console_respawn_delay_ms(delay_ms_, now_ms - started_at_ms_);
  respawn_at_ms_ = now_ms + delay_ms_;
  respawn_pending_ = true;
  return true;
}

void ConsoleShell::respawn_if_due(std::uint64_t now_ms) {
  if (respawn_pending_ && !hung_up_ && now_ms >= respawn_at_ms_) start(now_ms);
}

int ConsoleShell::poll_timeout_ms(std::uint64_t now_ms, int cap_ms) const {
  if (!respawn_pending_ || hung_up_) return cap_ms;
  if (respawn_at_ms_ <= now_ms) return 0;
  return static_cast<int>(std::min<std::uint64_t>(respawn_at_ms_ - now_ms, static_cast<std::uint64_t>(cap_ms)));
}

void ConsoleShell::hang_up() {
  hung_up_ = true;
  respawn_pending_ = false;
  // The session leader passes it on to the shell and lets the terminal go.
  if (pid_ > 0) ::kill(-pid_, SIGHUP);
}

}  // namespace microagent::guestinit
