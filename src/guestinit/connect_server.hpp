#pragma once
// The guest end of one `connect` session (protocol: common/connect_wire.hpp):
// reads the request line from the host, starts the command on a PTY (tty) or
// on pipes, and pumps frames until the command has exited and its output is
// drained. Works the same in a guest (one forked process per session, under
// guest_services) and on a host over a socketpair (tests).
#include <cstdint>
#include <string>

namespace microagent::guestinit {

struct SessionOptions {
  // The host must send its request line within this budget.
  int request_timeout_ms = 10000;
  // After the command exits, background descendants may still hold its
  // stdout/stderr (or the PTY) open; read on for at most this long.
  std::uint64_t drain_after_exit_ms = 500;
  // Whom the command runs as when the request names nobody: the workspace's
  // User (the image's, or --user), as `docker exec` does. Empty: root.
  std::string default_user;
};

// Serves one session on a connected stream socket and returns when it is over
// (exit frame sent, or the host went away: then the command's process group
// gets SIGHUP, and SIGKILL a second later). Does not close stream_fd.
void serve_connect_session(int stream_fd, const SessionOptions& options = {});

}  // namespace microagent::guestinit
