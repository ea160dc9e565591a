#pragma once
// The host end of one `connect` session (protocol: common/connect_wire.hpp):
// sends the request, then pumps local stdin into stdin frames and stdout /
// stderr frames into local fds until the guest's exit frame. The stream is
// any connected byte stream to the guest's port 1025 (connect_to_guest).
// Terminal raw mode is the caller's business (the CLI); this only watches the
// window size.
#include "common/connect_wire.hpp"
#include "common/error.hpp"

namespace microagent::shim {

struct ConnectIo {
  int stdin_fd = 0;  // -1: no input; stdin_eof is sent at once
  int stdout_fd = 1;
  int stderr_fd = 2;
  // With a tty request and a terminal here: SIGWINCH is caught for the
  // session's duration and each change is sent as a resize frame (the size
  // comes from TIOCGWINSZ on this fd). -1: the size is never updated.
  int terminal_fd = -1;
  // Text of the guest's error frames (e.g. "command not found: x"), also
  // written to stderr_fd as "microagent: <text>".
  std::string errors;
};

// Returns the remote exit status: its exit code, or 128 + signal. Fails when
// the stream breaks or carries a malformed frame before the exit frame.
Result<int> run_connect_session(int stream_fd, const connect_wire::ConnectRequest& request, ConnectIo& io);

}  // namespace microagent::shim
