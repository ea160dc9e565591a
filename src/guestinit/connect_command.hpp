#pragma once
// The command of a connect session (connect_server.cpp): planned before fork
// (so the child only makes async-signal-safe calls), started on a PTY or on
// pipes, and a failed exec reported over a CLOEXEC pipe.
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "common/connect_wire.hpp"
#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "guestinit/connect_server.hpp"
#include "guestinit/workload_user.hpp"

namespace microagent::guestinit {

inline constexpr int kExitNotFound = 127;
inline constexpr int kExitCannotRun = 126;

// Written by the child on the CLOEXEC report pipe when it cannot exec.
struct ChildReport {
  int stage;  // 1 chdir, 2 exec, 3 setup, 4 user
  int err;
};

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

Result<Launch> plan_launch(const connect_wire::ConnectRequest& request, const SessionOptions& options);

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

// nullopt with `error` set when the PTY, the pipes or fork fail.
std::optional<Command> start_command(const connect_wire::ConnectRequest& request, const Launch& launch, std::string& error);

// The message for a child that could not exec (or chdir, or become its user).
std::string describe_failure(const ChildReport& report, const Launch& launch);

void set_nonblocking(int fd);

}  // namespace microagent::guestinit
