#pragma once
// `console`: text for the respawning root shell on the guest's ttyS0, written
// to QEMU's serial socket.
#include <filesystem>
#include <string>

#include "common/error.hpp"

namespace microagent::linux_kvm {

// Returns once QEMU has taken every byte (it drops what is still queued when
// the client hangs up).
Result<void> send_console_input(const std::filesystem::path& socket, const std::string& input);

}  // namespace microagent::linux_kvm
