#include "shim/final_state.hpp"

#include <fmt/core.h>

namespace microagent::shim {

Intent intent_from_string(const std::string& text) {
  if (text == "halt") return Intent::halt;
  if (text == "stop") return Intent::stop;
  if (text == "kill") return Intent::kill;
  if (text == "quarantine") return Intent::quarantine;
  return Intent::none;
}

std::string to_string(Intent intent) {
  switch (intent) {
    case Intent::halt: return "halt";
    case Intent::stop: return "stop";
    case Intent::kill: return "kill";
    case Intent::quarantine: return "quarantine";
    case Intent::none: break;
  }
  return "none";
}

FinalState classify_vm_exit(const VmExit& exit) {
  using protocol::State;
  const std::string how = exit.qemu_status ? exit.qemu_status->describe() : "unknown status";
  switch (exit.intent) {
    case Intent::halt: return {State::halted, "halted: guest shut down cleanly (QEMU " + how + ")"};
    case Intent::stop: return {State::stopped, "stopped by request (QEMU " + how + ")"};
    case Intent::kill: return {State::stopped, "killed by request (QEMU " + how + ")"};
    case Intent::quarantine: return {State::quarantined, "quarantined: host side severed, VM stopped (QEMU " + how + ")"};
    case Intent::none: break;
  }
  if (exit.guest_panicked) return {State::failed, "guest kernel panic (see serial.log); QEMU " + how};
  if (exit.qemu_status && exit.qemu_status->signal) {
    return {State::failed, fmt::format("VM process killed by {}", exit.qemu_status->describe())};
  }
  if (exit.qemu_status && exit.qemu_status->exit_code && *exit.qemu_status->exit_code != 0) {
    return {State::failed, fmt::format("QEMU crashed ({}); see qemu.log", exit.qemu_status->describe())};
  }
  return {State::stopped, exit.result_delivered ? "guest powered off after delivering its result"
                                                : "guest powered off"};
}

bool serial_log_shows_panic(const std::string& serial_tail) {
  return serial_tail.find("Kernel panic") != std::string::npos;
}

}  // namespace microagent::shim
