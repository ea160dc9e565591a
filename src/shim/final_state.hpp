#pragma once
// Which final event a runtime shim records when its VM exits, and why. Pure:
// the inputs are what the shim observed.
#include <optional>
#include <string>

#include "common/process.hpp"
#include "protocol/types.hpp"

namespace microagent::shim {

// What a lifecycle command asked for before the VM exited (intent.json).
enum class Intent { none, halt, stop, kill, quarantine };

Intent intent_from_string(const std::string& text);
std::string to_string(Intent intent);

struct VmExit {
  Intent intent = Intent::none;
  std::optional<ExitStatus> qemu_status;  // nullopt: unknown (not our child)
  bool guest_panicked = false;            // "Kernel panic" on the serial console
  bool result_delivered = false;
};

struct FinalState {
  protocol::State state;
  std::string detail;
};

FinalState classify_vm_exit(const VmExit& exit);

// True when the serial log shows a guest kernel panic.
bool serial_log_shows_panic(const std::string& serial_tail);

}  // namespace microagent::shim
