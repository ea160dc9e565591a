#pragma once
// The `connect` wire protocol on vsock port 1025 (kConnectPort), shared by the
// host client (src/shim/connect_client) and the guest server
// (src/guestinit/connect_server). Pure: no I/O here.
//
// 1. host -> guest: one JSON line, the ConnectRequest:
//      {"tty":bool,"command":[...],"env":{...},"rows":N,"cols":N,"workdir":"/"}\n
//    An empty command means a login shell (/bin/sh).
// 2. then frames both ways: [u8 type][u32 big-endian payload length][payload].
//    host -> guest: stdin (bytes), stdin_eof (empty), resize (u16 rows, u16 cols,
//                   big-endian), signal (u8 signal number).
//    guest -> host: stdout, stderr (bytes), error (text, e.g. "command not
//                   found: foo"), exit (JSON {"exitCode":N} or {"signal":N}),
//                   always the last frame of a session.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace microagent::connect_wire {

enum class FrameType : std::uint8_t {
  // host -> guest
  stdin_data = 0x01,
  stdin_eof = 0x02,
  resize = 0x03,
  signal = 0x04,
  // guest -> host
  stdout_data = 0x81,
  stderr_data = 0x82,
  exit = 0x83,
  error = 0x84,
};

inline constexpr std::size_t kFrameHeaderSize = 5;
// A peer announcing more than this is broken or hostile: the session ends.
inline constexpr std::uint32_t kMaxFramePayload = 1 << 20;
// The request line, newline included, never exceeds this.
inline constexpr std::size_t kMaxRequestLine = 64 * 1024;

struct Frame {
  FrameType type;
  std::string payload;
};

std::string_view to_string(FrameType type);

std::string encode_frame(FrameType type, std::string_view payload);

// Takes the first complete frame off the front of `buffer`. nullopt: more bytes
// needed. invalid_request: unknown type or a length above kMaxFramePayload
// (the stream is unusable after that).
Result<std::optional<Frame>> take_frame(std::string& buffer);

struct WindowSize {
  std::uint16_t rows = 24;
  std::uint16_t cols = 80;
  bool operator==(const WindowSize&) const = default;
};
std::string encode_resize(WindowSize size);
Result<WindowSize> decode_resize(std::string_view payload);

std::string encode_signal(int signo);
Result<int> decode_signal(std::string_view payload);

// How the remote command ended: exactly one of the two is set.
struct ExitStatus {
  std::optional<int> exit_code;
  std::optional<int> signal;
  // The local exit code for it: the code, or 128 + signal (shell convention).
  int as_exit_code() const { return exit_code ? *exit_code : 128 + signal.value_or(0); }
};
std::string encode_exit(const ExitStatus& status);
Result<ExitStatus> decode_exit(std::string_view payload);

struct ConnectRequest {
  bool tty = false;
  std::vector<std::string> command;  // empty: login shell
  std::map<std::string, std::string> env;
  WindowSize size;
  std::string workdir = "/";
  std::string user;  // "uid[:gid]" or "name[:group]"; empty: the workspace's user
};

// One line, '\n'-terminated.
std::string connect_request_to_line(const ConnectRequest& request);
// Accepts the line with or without its '\n'; checks every field's type.
Result<ConnectRequest> connect_request_from_line(std::string_view line);

}  // namespace microagent::connect_wire
