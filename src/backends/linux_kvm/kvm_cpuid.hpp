#pragma once
// KVM_GET_SUPPORTED_CPUID + KVM_SET_CPUID2 from C++: <linux/kvm.h>'s struct
// kvm_cpuid2 has the wrong size under g++ (see kvm_cpuid.cpp), so the ioctls
// are issued with a header of our own.
#include <cstdint>
#include <optional>
#include <string>

namespace microagent::linux_kvm {

// Gives the vCPU exactly the CPUID leaves the host KVM supports; `xsave` says
// whether XSAVE is among them. nullopt on success, else what failed.
std::optional<std::string> set_supported_cpuid(int kvm_fd, int vcpu_fd, bool& xsave);

}  // namespace microagent::linux_kvm
