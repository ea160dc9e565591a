#pragma once
// The one way a linux-kvm workspace's VM is described, for a foreground run
// (the supervisor launches it) and a started workspace (the shim does): the
// planned machine on the host's accelerator, its sockets, logs, result port,
// and network, with the guest's config materialized under the runtime dir.
#include "backends/linux_kvm/guest_launch.hpp"
#include "backends/linux_kvm/kvm_probe.hpp"
#include "backends/linux_kvm/vm_session.hpp"
#include "common/error.hpp"
#include "protocol/types.hpp"
#include "supervisor/runtime_store.hpp"

namespace microagent::linux_kvm {

// Assigns the (preflighted) network, nat leasing its subnet, writes the guest's
// config where it must go, and fills the launch spec from `plan` and `accel`.
Result<VmLaunchSpec> workspace_launch_spec(const supervisor::RuntimeStore& store,
                                           const protocol::WorkspaceConfig& config, GuestLaunchPlan plan,
                                           const AccelChoice& accel);

}  // namespace microagent::linux_kvm
