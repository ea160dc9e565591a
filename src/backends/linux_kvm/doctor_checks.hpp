#pragma once
// `doctor` for linux-kvm: one DoctorCheck per thing a guest needs on this
// host (DESIGN.md section 5), each reading the host through a HostRoot and
// running external programs through an injected runner, so every check can be
// tested against a fake root with canned `qemu ... help` output.
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backends/linux_kvm/kvm_probe.hpp"
#include "common/host_root.hpp"
#include "common/process.hpp"
#include "protocol/doctor.hpp"

namespace microagent::linux_kvm {

using protocol::DoctorCheck;
using protocol::DoctorReport;

// Runs a host program to completion (`qemu-system-x86_64 -machine help`).
using HostCommandRunner = std::function<Result<CommandOutput>(const std::vector<std::string>& argv)>;
// Finds a program by name (PATH lookup in production).
using ProgramFinder = std::function<std::optional<std::string>(const std::string& name)>;

struct DoctorContext {
  HostRoot root;
  std::filesystem::path state_dir;     // a host path: read and written under root
  std::filesystem::path kernel_cache;  // <home>/kernels/x86_64 (a real path)
  std::filesystem::path guest_init;    // microagent-guestinit-x86_64 (a real path)
  std::string accel_override;          // value of MICROAGENT_ACCEL, "" when unset
  HostCommandRunner run;
  ProgramFinder find_program;
  std::optional<std::string> passt_override;  // $MICROAGENT_PASST
  std::filesystem::path built_passt;          // what scripts/fetch-passt installs
};

// Production: root "/", run_command, find_program, MICROAGENT_ACCEL,
// default_kernel_cache(), guest init beside the executable (or $MICROAGENT_GUESTINIT).
DoctorContext host_doctor_context(std::filesystem::path state_dir);

// The probe VM on <root>/dev/kvm and the accelerator decided from it. The
// reason names "/dev/kvm", whatever the root.
AccelChoice probe_accel(const DoctorContext& context);

DoctorCheck check_kvm_device(const KvmProbe& probe);  // "kvm.device"
DoctorCheck check_kvm_api(const KvmProbe& probe);     // "kvm.api"
DoctorCheck check_kvm_probe(const KvmProbe& probe);   // "kvm.probe": ring-0 guest code
DoctorCheck check_accel(const AccelChoice& accel);    // "accel": what run will use, loudly when tcg
// "qemu.binary" (path + version), "qemu.microvm", "qemu.devices".
std::vector<DoctorCheck> check_qemu(const DoctorContext& context);
DoctorCheck check_vsock(const DoctorContext& context);     // "vsock"
DoctorCheck check_tun(const DoctorContext& context);       // "net.tun"
DoctorCheck check_passt(const DoctorContext& context);     // "net.passt"
DoctorCheck check_nft(const DoctorContext& context);       // "net.nft"
DoctorCheck check_userns(const DoctorContext& context);    // "userns"
DoctorCheck check_ip_forward(const DoctorContext& context);  // "net.ip_forward"
DoctorCheck check_kernel_artifact(const DoctorContext& context);  // "kernel"
DoctorCheck check_guest_init(const DoctorContext& context);       // "guestinit"
// "statedir" (writable, filesystem type) and "statedir.reflink".
std::vector<DoctorCheck> check_state_dir(const DoctorContext& context);
DoctorCheck check_console(const DoctorContext& context);  // "console"

// Filesystem name for a statfs f_type ("ext4", "xfs", "9p"...), or "0x<hex>".
std::string filesystem_name(unsigned long magic);
// "QEMU emulator version 7.2.22 (Debian ...)" -> "7.2.22"; "" when absent.
std::string parse_qemu_version(std::string_view version_output);

// Sets can_run (no failed check), accel ("" when it cannot run) and the one
// verdict line: "will run guests with linux-kvm using tcg: <reason>".
void conclude(DoctorReport& report, const AccelChoice& accel);

struct LinuxDoctor {
  DoctorReport report;
  AccelChoice accel;
};
// Every check above, concluded, for `backend` ("linux-kvm", or "wsl2" which adds its own).
LinuxDoctor run_linux_doctor(const DoctorContext& context, std::string_view backend);

}  // namespace microagent::linux_kvm
