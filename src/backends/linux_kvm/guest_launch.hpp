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
  // Too large for the kernel command line: materialize_guest_config must put
  // it into a per-runtime initramfs before the VM starts.
  bool config_in_initramfs = false;
};

GuestConfig guest_config_for(const protocol::WorkspaceConfig& config);
Result<GuestLaunchPlan> plan_guest_launch(const protocol::WorkspaceConfig& config);
// Same, with the guest's config given (started workspaces add keep-alive and their disk).
Result<GuestLaunchPlan> plan_guest_launch(const protocol::WorkspaceConfig& config, GuestConfig guest);
// When the config does not fit the command line: <runtime_dir>/initrd-with-config.cpio
// (the cached initramfs plus microagent/config.json) becomes the plan's initrd.
Result<void> materialize_guest_config(GuestLaunchPlan& plan, const std::filesystem::path& runtime_dir);

}  // namespace microagent::linux_kvm
