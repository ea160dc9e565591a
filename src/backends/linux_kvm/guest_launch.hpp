#pragma once
// From a workspace config to what QEMU and guest init need: checked paths,
// the guest's workload config and the kernel command line that carries it.
#include "backends/linux_kvm/qemu_command.hpp"
#include "common/error.hpp"
#include "common/guest_wire.hpp"
#include "net/network_plan.hpp"
#include "protocol/types.hpp"

namespace microagent::linux_kvm {

struct GuestLaunchPlan {
  QemuMachineSpec machine;  // kernel, initrd, cmdline, memory, cpus; no sockets yet
  GuestConfig guest;
  // Too large for the kernel command line: materialize_guest_config must put
  // it into a per-runtime initramfs before the VM starts.
  bool config_in_initramfs = false;
};

// Disks a launch attaches besides config.disks (see disk_layout.hpp).
struct LaunchDisks {
  std::filesystem::path root_overlay;    // qcow2 over config.rootfsPath; empty: validate only
  std::filesystem::path workspace_disk;  // /workspace of a started default-image workspace
};

GuestConfig guest_config_for(const protocol::WorkspaceConfig& config);
Result<GuestLaunchPlan> plan_guest_launch(const protocol::WorkspaceConfig& config);
// Same, with the guest's config given (started workspaces add keep-alive) and
// the disks this launch creates itself.
Result<GuestLaunchPlan> plan_guest_launch(const protocol::WorkspaceConfig& config, GuestConfig guest,
                                          const LaunchDisks& disks = {});
// The guest's network section from the host's assignment (nat: the leased
// subnet); re-encodes the config on the kernel command line. Before materialize.
void apply_network_assignment(GuestLaunchPlan& plan, const net::NetworkAssignment& assignment,
                              const protocol::WorkspaceConfig& config);
// When the config does not fit the command line: <runtime_dir>/initrd-with-config.cpio
// (the cached initramfs plus microagent/config.json) becomes the plan's initrd.
Result<void> materialize_guest_config(GuestLaunchPlan& plan, const std::filesystem::path& runtime_dir);

}  // namespace microagent::linux_kvm
