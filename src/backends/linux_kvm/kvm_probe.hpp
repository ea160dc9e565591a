#pragma once
// Which QEMU accelerator can boot a kernel on this host.
//
// /dev/kvm existing is not enough (DESIGN.md section 5): a software "PVM"
// module creates VMs and runs ring-3 code, but ring-0 guest code is emulated
// and stock kernels die on cmpxchg16b, xrstor, fwait... So we boot a tiny
// probe VM through the raw KVM API that runs, in 64-bit ring 0, the
// instructions an early kernel needs, and use kvm only if it reaches its
// final marker.
#include <filesystem>
#include <string>
#include <string_view>

namespace microagent::linux_kvm {

struct KvmProbe {
  bool device_present = false;  // the device node exists
  bool accessible = false;      // open O_RDWR worked
  int api_version = 0;          // KVM_GET_API_VERSION (12 is the only stable one)
  bool vm_created = false;      // KVM_CREATE_VM and the probe vCPU were set up
  bool ring0_ok = false;        // the probe guest reached its final marker
  double probe_ms = 0;          // wall time of the probe run (KVM_RUN loop)
  std::string detail;           // what failed, or "ring-0 probe ran in X ms"
};

// Runs the probe VM on `device`. Never throws, never hangs: the guest gets
// 500 ms, then the vCPU is kicked out with immediate_exit and a signal.
KvmProbe probe_kvm(const std::filesystem::path& device = "/dev/kvm");

struct AccelChoice {
  std::string accel;   // "kvm" or "tcg"
  std::string cpu;     // "host" for kvm, "max" for tcg
  std::string reason;  // one line for doctor and logs
  KvmProbe probe;
};

// The environment variable that forces an accelerator ("kvm" or "tcg").
inline constexpr std::string_view kAccelOverrideEnv = "MICROAGENT_ACCEL";

// Pure decision: probe result and the override's value (empty: none) in,
// choice out. A forced kvm on a host that failed the probe says so in reason.
AccelChoice decide_accel(const KvmProbe& probe, std::string_view override_value,
                         const std::filesystem::path& device = "/dev/kvm");

// probe_kvm(device) + MICROAGENT_ACCEL + decide_accel.
AccelChoice choose_accel(const std::filesystem::path& device = "/dev/kvm");

}  // namespace microagent::linux_kvm
