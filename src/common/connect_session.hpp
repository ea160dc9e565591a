#pragma once
// The host end of one `connect` session, for every backend (protocol:
// common/connect_wire.hpp): the request line, then local input as stdin/resize
// frames and the guest's stdout/stderr frames relayed until its exit frame.
// The platform is behind three small interfaces: Linux gives file descriptors
// (shim/connect_client.cpp: a vsock stream, stdin, SIGWINCH), Windows an
// AF_HYPERV stream and the console (backends/windows_hyperv/win32/). Every
// byte from the guest is hostile: frames are bounded by take_frame, and a
// frame only the host may send ends the session as invalid_request.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "common/connect_wire.hpp"
#include "common/error.hpp"

namespace microagent {

// A connected byte stream to the guest's connect port (1025). send and
// receive may run on two threads at once (a socket is full duplex).
class GuestStream {
 public:
  virtual ~GuestStream() = default;
  virtual Result<void> send(std::string_view bytes) = 0;
  // Blocks until bytes arrive; an empty string when the guest closed the stream.
  virtual Result<std::string> receive() = 0;
};

// One thing the local side has for the guest.
struct ConnectInput {
  enum class Kind { bytes, end, resize };
  Kind kind = Kind::bytes;
  std::string bytes;               // Kind::bytes (Ctrl-C is byte 0x03 in raw mode)
  connect_wire::WindowSize size;   // Kind::resize
};

// Local stdin (console or pipe). Polled from the session's input thread.
class ConnectInputSource {
 public:
  virtual ~ConnectInputSource() = default;
  // Waits at most `wait`; nullopt when nothing came in that time.
  virtual std::optional<ConnectInput> next(std::chrono::milliseconds wait) = 0;
};

// Local stdout/stderr.
class ConnectOutput {
 public:
  virtual ~ConnectOutput() = default;
  virtual void write_stdout(std::string_view bytes) = 0;
  virtual void write_stderr(std::string_view bytes) = 0;
};

struct ConnectSessionResult {
  int exit_code = 0;   // the remote code, or 128 + signal
  std::string errors;  // text of the guest's error frames, "; "-joined
};

// `input` null: no local input, stdin_eof is sent right after the request.
// Fails (host_unavailable) when the guest hangs up before its exit frame,
// (invalid_request) on a malformed frame, or when sending fails.
Result<ConnectSessionResult> run_connect_session(GuestStream& stream, const connect_wire::ConnectRequest& request,
                                                 ConnectInputSource* input, ConnectOutput& output);

}  // namespace microagent
