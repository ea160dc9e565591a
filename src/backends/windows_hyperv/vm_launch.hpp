#pragma once
// The common first half of `run` and `start`: the workspace's VHDs, its
// network endpoint, the compute-system document, HcsCreateComputeSystem and
// the VM's access to every file it opens. The VM is created, not started. On
// any failure everything made so far is torn down (end_vm) before returning.
#include "backends/windows_hyperv/vm_plan.hpp"
#include "backends/windows_hyperv/vm_record.hpp"
#include "backends/windows_hyperv/windows_host.hpp"
#include "supervisor/runtime_store.hpp"

namespace microagent::windows_hyperv {

struct CreatedVm {
  VmRecord record;  // also written to runtime.json
  VmPlan plan;
};

Result<CreatedVm> create_vm(WindowsHost& host, const supervisor::RuntimeStore& store,
                            const protocol::WorkspaceConfig& config, bool detached);

}  // namespace microagent::windows_hyperv
