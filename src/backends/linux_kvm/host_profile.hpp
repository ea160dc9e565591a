#pragma once
// What every boot needs to know about this host, measured once per host boot:
// the acceleration decision (a probe VM) and the TSC frequency. Cached in
// <microagent-home>/cache/host-profile.json, keyed by the kernel's boot_id, the
// /dev/kvm node and MICROAGENT_ACCEL, so a reboot, a reloaded KVM module or an
// override all measure again. `doctor` always probes afresh.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "backends/linux_kvm/kvm_probe.hpp"

namespace microagent::linux_kvm {

struct HostProfile {
  AccelChoice accel;
  std::optional<std::uint64_t> tsc_khz;
};

// The key the cache must match: boot id, /dev/kvm identity, the override.
std::string host_profile_key(const std::filesystem::path& kvm_device = "/dev/kvm");

HostProfile host_profile(const std::filesystem::path& cache_file);
// The default cache location under the user's microagent directory.
HostProfile host_profile();

}  // namespace microagent::linux_kvm
