#pragma once
// Is this Linux a WSL2 distro? Read from the kernel release string (WSL2's
// kernels are "<version>-microsoft-standard-WSL2") and the WSL environment
// (WSL_DISTRO_NAME, the WSLInterop binfmt entry, /run/WSL), all through a HostRoot.
#include <string>
#include <string_view>

#include "backends/linux_kvm/kvm_probe.hpp"
#include "common/error.hpp"
#include "common/host_root.hpp"

namespace microagent::wsl2 {

struct WslHost {
  std::string kernel_release;  // /proc/sys/kernel/osrelease
  bool wsl2_kernel = false;    // release contains "microsoft-standard-WSL2" (any case)
  bool wsl1_kernel = false;    // "Microsoft" without the WSL2 suffix: WSL1 has no VMs at all
  std::string distro;          // WSL_DISTRO_NAME
  bool interop = false;        // /proc/sys/fs/binfmt_misc/WSLInterop or /run/WSL exists

  // A WSL2 kernel alone could be a custom build elsewhere: the WSL environment must agree.
  bool is_wsl2() const { return wsl2_kernel && (!distro.empty() || interop); }
  std::string describe() const;  // one line for doctor and errors
};

// `distro_env` is the value of WSL_DISTRO_NAME ("" when unset).
WslHost detect_wsl(const HostRoot& root, std::string_view distro_env);

// host_unavailable outside WSL2, naming what was found and the backend to use instead.
Result<void> require_wsl2(const WslHost& host);

// Nested KVM gate: /dev/kvm must open, answer API 12 and create a VM; else
// host_unavailable with the fixes (wsl --update, VT-x/AMD-V and the Virtual
// Machine Platform enabled, nestedVirtualization=true in .wslconfig). A KVM
// that creates VMs but cannot run ring 0 passes: linux-kvm then picks tcg.
Result<void> require_nested_kvm(const linux_kvm::KvmProbe& probe);

// The fix text shared by the gate and the doctor check.
std::string nested_kvm_fix();

}  // namespace microagent::wsl2
