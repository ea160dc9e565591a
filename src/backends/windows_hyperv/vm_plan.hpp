#pragma once
// From a workspace config, its disks and its network attachment to the
// compute-system spec (hcs_document.hpp) and the guest's workload config.
// Pure: the paths it names must exist by the time the document is used.
#include <optional>
#include <string>
#include <vector>

#include "backends/windows_hyperv/hcs_document.hpp"
#include "backends/windows_hyperv/network_attachment.hpp"
#include "backends/windows_hyperv/workspace_disks.hpp"
#include "common/error.hpp"
#include "common/guest_wire.hpp"
#include "protocol/types.hpp"

namespace microagent::windows_hyperv {

struct VmPlan {
  std::string compute_system_id;  // microagent-<runtimeID>
  ComputeSystemSpec spec;
  GuestConfig guest;
  // The guest config does not fit the kernel command line: create_vm writes
  // it into a per-runtime initramfs (config_initramfs.hpp) and points
  // spec.initrd_path there.
  bool config_in_initramfs = false;
};

// The vsock ports granted in HvSocket: result (config.result.port), connect
// 1025, control 1026, each published guest port, the mediation port; sorted, unique.
std::vector<std::uint32_t> granted_vsock_ports(const protocol::WorkspaceConfig& config);

// `detached`: a started workspace (keep-alive guest, the VM outlives this process).
// invalid_request for a missing kernel/initrd path.
Result<VmPlan> plan_vm(const protocol::WorkspaceConfig& config, const std::string& runtime_id,
                       const WorkspaceDisks& disks, const std::optional<NetworkAttachment>& network, bool detached);

std::string compute_system_id_for(const std::string& runtime_id);

}  // namespace microagent::windows_hyperv
