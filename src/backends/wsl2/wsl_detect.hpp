#pragma once
// Is this Linux a WSL2 distro? Read from the kernel release string (WSL2's
// kernels are "<version>-microsoft-standard-WSL2") and the WSL environment
// (WSL_DISTRO_NAME, the WSLInterop binfmt entry, /run/WSL), all through a HostRoot.
#include <string>
#include <string_view>

#include "backends/linux_kvm/kvm_probe.hpp"
#include "common/error.hpp"
#include "common/host_root.hpp"
#include "common/wsl_host.hpp"

namespace microagent::wsl2 {

using microagent::WslHost;
using microagent::detect_wsl;
using microagent::require_wsl2;

// Nested KVM gate: /dev/kvm must open, answer API 12 and create a VM; else
// host_unavailable with the fixes (wsl --update, VT-x/AMD-V and the Virtual
// Machine Platform enabled, nestedVirtualization=true in .wslconfig). A KVM
// that creates VMs but cannot run ring 0 passes: linux-kvm then picks tcg.
Result<void> require_nested_kvm(const linux_kvm::KvmProbe& probe);

// The fix text shared by the gate and the doctor check.
std::string nested_kvm_fix();

}  // namespace microagent::wsl2
