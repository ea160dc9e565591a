#include "backends/wsl2/wsl_detect.hpp"

#include <fmt/core.h>

namespace microagent::wsl2 {
std::string nested_kvm_fix() {
  return "run `wsl --update` in Windows; enable VT-x/AMD-V in the firmware and the Virtual Machine Platform "
         "(Hyper-V) Windows feature; set nestedVirtualization=true under [wsl2] in %UserProfile%\\.wslconfig, "
         "then `wsl --shutdown` and reopen the distro";
}

Result<void> require_nested_kvm(const linux_kvm::KvmProbe& probe) {
  std::string why;
  if (!probe.device_present) {
    why = "/dev/kvm does not exist";
  } else if (!probe.accessible) {
    why = "/dev/kvm is not accessible (" + probe.detail + "); add this user to the kvm group or run as root";
  } else if (probe.api_version != 12 || !probe.vm_created) {
    why = "/dev/kvm cannot create a VM (" + probe.detail + ")";
  } else {
    return {};
  }
  return fail(ErrorCode::host_unavailable, "nested KVM is not usable in this WSL2 distro: " + why + ". Fix: " +
                                               nested_kvm_fix());
}

}  // namespace microagent::wsl2
