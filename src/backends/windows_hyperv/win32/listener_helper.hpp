#pragma once
// The detached listener helper of a started workspace (Windows only): the
// supervisor .exe run again as `listener-helper <runtime dir>`, outliving the
// supervisor like the Linux runtime shim. It serves, until the VM is gone:
// COM1 -> serial.log; the result port -> result.json; each published port
// (host TCP listener -> the guest's Hyper-V socket service = guest port); the
// mediation port (guest -> host Hyper-V socket -> TCP target). It logs to
// <runtime dir>/hvsock-listener.log. Its spec is <runtime dir>/listener.json.
#include <cstdint>
#include <filesystem>

#include "backends/windows_hyperv/windows_host.hpp"

namespace microagent::windows_hyperv::win32 {

// Writes listener.json and starts the helper detached; returns its pid.
Result<std::uint32_t> spawn_listener_helper_process(const ListenerHelperSpec& spec, const std::string& vm_runtime_id);

// The helper's body; returns its exit code.
int run_listener_helper(const std::filesystem::path& runtime_dir);

}  // namespace microagent::windows_hyperv::win32
