#pragma once
// Everything a request must pass before a compute system is made or a file
// is written, for `start` and `run` alike: network and disks well formed, the
// host able to run VMs, the ask within the host (memory, processors), a
// bootable kernel and a readable initrd.
#include "backends/windows_hyperv/windows_host.hpp"
#include "common/error.hpp"
#include "protocol/types.hpp"

namespace microagent::windows_hyperv {

Result<void> preflight_vm(WindowsHost& host, const protocol::WorkspaceConfig& config);

}  // namespace microagent::windows_hyperv
