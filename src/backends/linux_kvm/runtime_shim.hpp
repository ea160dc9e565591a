#pragma once
// The runtime shim of a started workspace: a detached process (the supervisor
// executable run as `microagent-linux-kvm-supervisor shim`) that owns the QEMU
// process, the vsock device and host listeners, records readiness and the
// result, and records the final event itself when the VM exits for any reason.
#include <istream>
#include <string>

#include <nlohmann/json.hpp>

#include "backends/linux_kvm/vm_session.hpp"
#include "common/error.hpp"
#include "protocol/types.hpp"

namespace microagent::linux_kvm {

struct ShimLaunch {
  protocol::Identity identity;
  std::string state_dir;
  VmLaunchSpec vm;
  std::string accel_reason;
};

nlohmann::json shim_launch_to_json(const ShimLaunch& launch);
Result<ShimLaunch> shim_launch_from_json(const nlohmann::json& json);

// The shim's whole life; returns its exit code. `launch_text` is the JSON the supervisor piped in.
int run_runtime_shim(const std::string& launch_text);

// Starts a shim for `launch` (detached, its own session, logs to <runtime>/shim.log).
Result<pid_t> spawn_runtime_shim(const ShimLaunch& launch, const std::filesystem::path& log);

}  // namespace microagent::linux_kvm
