#pragma once
// `doctor` for windows-hyperv: each fact of the host (HostCapabilities, read
// through the WindowsHost interface) becomes a check with the fix, plus the
// kernel artifact and the guest init binary. The same facts gate the commands
// that create VMs (require_host), so `check` and doctor never disagree.
#include <filesystem>
#include <vector>

#include "backends/windows_hyperv/windows_host.hpp"
#include "common/error.hpp"
#include "protocol/doctor.hpp"

namespace microagent::windows_hyperv {

struct DoctorInputs {
  HostCapabilities host;
  std::filesystem::path kernel_dir;      // the kernel artifact (vmlinux or bzImage inside)
  std::filesystem::path guestinit_path;  // microagent-guestinit-x86_64
};

protocol::DoctorCheck check_hcs(const HostFact& fact);             // "hcs.available"
protocol::DoctorCheck check_virtualization(const HostFact& fact);  // "hcs.virtualization"
protocol::DoctorCheck check_hcs_access(const HostFact& fact);      // "hcs.access"
protocol::DoctorCheck check_hcn(const HostFact& fact);             // "hcn.available"
protocol::DoctorCheck check_hvsocket(const HostFact& fact);        // "hvsocket.available"
protocol::DoctorCheck check_kernel_artifact(const std::filesystem::path& kernel_dir);  // "kernel.artifact"
protocol::DoctorCheck check_guestinit(const std::filesystem::path& path);              // "guestinit.binary"
protocol::DoctorCheck check_console(const HostFact& named_pipes);                      // "console.capability"

protocol::DoctorReport run_hyperv_doctor(const DoctorInputs& inputs);

// host_unavailable (the first failing fact, with its fix) unless HCS,
// virtualization, HCS access and Hyper-V sockets work; HCN too when the
// workspace needs a network adapter.
Result<void> require_host(const HostCapabilities& host, bool needs_network);

}  // namespace microagent::windows_hyperv
