#pragma once
// A root shell on the serial console of a kept-alive guest. `microagent console
// NAME 'TEXT'` writes TEXT and a newline into ttyS0 (QEMU's serial.in socket) and
// serial.log records what the guest prints there, so this shell is what makes
// that pair a way in when vsock is down. The service process forks a session
// leader that owns ttyS0 as controlling terminal and runs the shell as its
// child, and respawns the pair when it exits, with a back-off so a shell that
// cannot start does not spin; a halting guest hangs it up and never respawns it.
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace microagent::guestinit {

inline constexpr const char* kConsoleTty = "/dev/ttyS0";
inline constexpr const char* kConsoleShell = "/bin/sh";

// Delay before the next start, from the previous delay and how long the shell
// just ran: a shell that lived a while (someone typed `exit`) comes back at
// once; one that dies right away waits twice as long each time, up to a cap.
inline constexpr std::uint64_t kConsoleRespawnMinMs = 250;
inline constexpr std::uint64_t kConsoleRespawnMaxMs = 10000;
inline constexpr std::uint64_t kConsoleStableRunMs = 5000;
std::uint64_t next_console_respawn_delay_ms(std::uint64_t previous_delay_ms, std::uint64_t lived_ms);

// TERM=linux, HOME=/root, PATH: the shell's whole environment ("KEY=value").
std::vector<std::string> console_shell_env();

class ConsoleShell {
 public:
  explicit ConsoleShell(std::string tty = kConsoleTty, std::string shell = kConsoleShell);

  // Forks the session (leader and shell) now. A failed fork is logged and retried like an exit.
  void start(std::uint64_t now_ms);
  // For every child the service process reaps: true when it was the session leader,
  // which schedules the respawn (unless hung up).
  bool on_exit(pid_t pid, std::uint64_t now_ms);
  // Starts the shell again when its respawn is due.
  void respawn_if_due(std::uint64_t now_ms);
  // Poll timeout that wakes the loop in time for a pending respawn, at most `cap_ms`.
  int poll_timeout_ms(std::uint64_t now_ms, int cap_ms) const;
  // Before a halt: SIGHUP to the session leader, which hangs up the shell (an
  // interactive shell ignores the SIGTERM halt_guest sends everyone) and
  // releases ttyS0 without a hang-up of the line; no respawn after.
  void hang_up();

  pid_t pid() const { return pid_; }

 private:
  std::string tty_;
  std::string shell_;
  pid_t pid_ = -1;
  std::uint64_t started_at_ms_ = 0;
  std::uint64_t delay_ms_ = 0;
  std::uint64_t respawn_at_ms_ = 0;
  bool respawn_pending_ = false;
  bool hung_up_ = false;
};

}  // namespace microagent::guestinit
