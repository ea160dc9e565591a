#pragma once
// Is this Linux a WSL2 distro? Read from the kernel release string (WSL2's
// kernels are "<version>-microsoft-standard-WSL2") and the WSL environment
// (WSL_DISTRO_NAME, the WSLInterop binfmt entry, /run/WSL), all through a
// HostRoot. In common because the CLI routes requests with it before any
// supervisor runs, and the wsl2 backend gates on it.
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "common/host_root.hpp"

namespace microagent {

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

}  // namespace microagent
