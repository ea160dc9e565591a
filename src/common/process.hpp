#pragma once
// Starting and watching host processes (QEMU, supervisors, apt-get, depmod).
#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace microagent {

struct ExitStatus {
  std::optional<int> exit_code;  // normal exit
  std::optional<int> signal;     // killed by this signal
  bool success() const { return exit_code && *exit_code == 0; }
  std::string describe() const;  // "exit code 3" / "signal 9 (Killed)"
};

struct SpawnOptions {
  std::map<std::string, std::string> extra_env;  // added to (or replacing in) the current environment
  std::optional<std::string> cwd;
  int stdin_fd = -1;   // -1: /dev/null
  int stdout_fd = -2;  // -2: inherit, -1: /dev/null, else dup'd onto 1
  int stderr_fd = -2;
  bool new_session = false;  // setsid(): survives the caller's terminal and process group
  // PR_SET_PDEATHSIG: the child gets this signal when the thread that spawned it
  // dies, even by SIGKILL (0: none). Linux clears it when the child changes its
  // credentials (passt dropping to nobody), so it ties only processes that do not.
  int parent_death_signal = 0;
};

class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(pid_t pid, UniqueFd pidfd) : pid_(pid), pidfd_(std::move(pidfd)) {}
  pid_t pid() const { return pid_; }
  int pidfd() const { return pidfd_.get(); }  // pollable: readable once the child exits
  // Waits up to `timeout` (nullopt: forever). nullopt result: still running.
  std::optional<ExitStatus> wait(std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  void signal(int sig) const;
  bool exited() const { return status_.has_value(); }

 private:
  pid_t pid_ = -1;
  UniqueFd pidfd_;
  std::optional<ExitStatus> status_;
};

// Fails with not_found when argv[0] cannot be executed (reported through a CLOEXEC pipe).
Result<ChildProcess> spawn_process(const std::vector<std::string>& argv, const SpawnOptions& options = {});

struct CommandOutput {
  ExitStatus status;
  std::string out;
  std::string err;
};
// Runs to completion with `input` on stdin, capturing stdout and stderr.
Result<CommandOutput> run_command(const std::vector<std::string>& argv, const std::string& input = {},
                                  const SpawnOptions& options = {});

// Looks a program up on PATH; nullopt when absent.
std::optional<std::string> find_program(const std::string& name);

}  // namespace microagent
