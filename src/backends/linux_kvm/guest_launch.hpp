#pragma once
// From a workspace config to what QEMU and guest init need: checked paths,
// the guest's workload config and the kernel command line that carries it.
#include "backends/linux_kvm/qemu_command.hpp"
#include "common/error.hpp"
#include "common/guest_wire.hpp"
#include "protocol/types.hpp"

namespace microagent::linux_kvm {

struct GuestLaunchPlan {
  QemuMachineSpec machine;  // kernel, initrd, cmdline, memory, cpus; no sockets yet
  GuestConfig guest;
};

GuestConfig guest_config_for(const protocol::WorkspaceConfig& config);
Result<GuestLaunchPlan> plan_guest_launch(const protocol::WorkspaceConfig& config);
// Same, with the guest's config given (started workspaces add keep-alive and their disk).
Result<GuestLaunchPlan> plan_guest_launch(const protocol::WorkspaceConfig& config, GuestConfig guest);

}  // namespace microagent::linux_kvm
