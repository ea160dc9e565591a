#pragma once
// The control port (vsock 1026, kControlPort), both directions, as pure text:
// - guest -> host (guest connects to CID 2): readiness lines,
//   {"event":"guestReady","at":"<RFC3339>"} and {"event":"shellReady","at":...};
// - host -> guest (host connects to the guest's port 1026): one command line,
//   {"command":"halt"} or {"command":"halt","graceMs":N}, answered with
//   {"ok":true} or {"ok":false,"error":"..."}.
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace microagent::guestinit {

enum class ControlCommand { halt };

// How long processes get between SIGTERM and SIGKILL when the guest halts.
inline constexpr std::uint64_t kDefaultHaltGraceMs = 2000;
inline constexpr std::uint64_t kMaxHaltGraceMs = 600000;

struct ControlRequest {
  ControlCommand command = ControlCommand::halt;
  std::uint64_t grace_ms = kDefaultHaltGraceMs;
};

// One readiness line, '\n'-terminated.
std::string readiness_line(std::string_view event, std::string_view at);

// Parses a host command line (with or without its '\n'); invalid_request
// (also for a graceMs that is not an integer up to kMaxHaltGraceMs) or
// unsupported (unknown command) otherwise.
Result<ControlRequest> parse_control_command(std::string_view line);

// The reply line, '\n'-terminated: {"ok":true} or {"ok":false,"error":message}.
std::string control_reply(bool ok, std::string_view error = {});

}  // namespace microagent::guestinit
