#pragma once
// Pure builders: a machine description in, QEMU argv / kernel command line out.
// No side effects, so every flag is covered by golden tests.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/guest_wire.hpp"

namespace microagent::linux_kvm {

struct QemuDisk {
  std::filesystem::path path;
  std::string format = "raw";  // raw | qcow2
  bool read_only = false;
};

// The guest's one NIC (virtio-net on microvm's virtio-mmio). `user`: a stream
// netdev to passt's Unix socket (QEMU 7.2+); nat/bridged: a TAP opened by name.
struct QemuNic {
  std::string kind;                 // "passt" | "tap"
  std::filesystem::path passt_socket;
  std::string tap;
  std::string mac;
};

struct QemuMachineSpec {
  std::string qemu_binary = "qemu-system-x86_64";
  std::string accel = "tcg";  // kvm | tcg
  std::string cpu = "max";    // host (kvm) | max (tcg)
  std::int64_t memory_mib = 256;
  std::int64_t cpu_count = 1;
  std::filesystem::path kernel;
  std::filesystem::path initrd;
  std::string kernel_cmdline;
  std::filesystem::path serial_log;
  // Set: the serial console also accepts input on this Unix socket (started
  // workspaces: `console`); QEMU itself keeps appending output to serial_log.
  std::filesystem::path serial_socket;
  std::filesystem::path qmp_socket;
  // vhost-user-vsock: the back end listening here (microagent's own device).
  std::filesystem::path vhost_user_vsock_socket;
  // Kernel vhost-vsock instead, where /dev/vhost-vsock exists.
  std::optional<std::uint64_t> vhost_vsock_cid;
  std::vector<QemuDisk> disks;
  std::optional<QemuNic> nic;  // none: the guest has only `lo` (isolated)
  // Appended verbatim (bench/publish adds QEMU's own user-mode NIC with hostfwd to compare against).
  std::vector<std::string> extra_args;
};

std::vector<std::string> build_qemu_argv(const QemuMachineSpec& spec);

struct KernelCmdlineSpec {
  std::optional<std::uint64_t> tsc_khz;  // tsc_early_khz: without it TCG boots can hang calibrating
  bool quiet = true;
  std::string config_param;              // "microagent.config=..." (may be empty when in the initramfs)
};

std::string build_kernel_cmdline(const KernelCmdlineSpec& spec);

}  // namespace microagent::linux_kvm
