#include "backends/windows_hyperv/doctor_checks.hpp"

#include "backends/windows_hyperv/hv_constants.hpp"

namespace microagent::windows_hyperv {

using protocol::CheckStatus;
using protocol::DoctorCheck;

namespace {

constexpr const char* kFixHcs =
    "enable Hyper-V (Enable-WindowsOptionalFeature -Online -FeatureName Microsoft-Hyper-V-All, or the Virtual "
    "Machine Platform and Containers features) and reboot; HCS needs Windows 10 1809 / Server 2019 or later";
constexpr const char* kFixVirtualization =
    "turn on VT-x/AMD-V in the firmware; inside a VM, expose it to the guest "
    "(Set-VMProcessor -VMName <vm> -ExposeVirtualizationExtensions $true)";
constexpr const char* kFixAccess =
    "run elevated (Run as administrator) or join Hyper-V Administrators: Add-LocalGroupMember -Group "
    "'Hyper-V Administrators' -Member $env:USERNAME, then sign out and back in";
constexpr const char* kFixHcn =
    "start the Host Network Service (Start-Service hns); it ships with Hyper-V and the Containers feature";
constexpr const char* kFixHvsocket =
    "Hyper-V sockets (AF_HYPERV) come with Hyper-V on Windows 10 / Server 2016 or later: enable Hyper-V and reboot";

DoctorCheck from_fact(const char* name, const HostFact& fact, const char* fix) {
  if (fact.ok) return DoctorCheck{name, CheckStatus::ok, fact.detail, ""};
  return DoctorCheck{name, CheckStatus::fail, fact.detail, fix};
}

}  // namespace

DoctorCheck check_hcs(const HostFact& fact) { return from_fact("hcs.available", fact, kFixHcs); }
DoctorCheck check_virtualization(const HostFact& fact) {
  return from_fact("hcs.virtualization", fact, kFixVirtualization);
}
DoctorCheck check_hcs_access(const HostFact& fact) { return from_fact("hcs.access", fact, kFixAccess); }
DoctorCheck check_hcn(const HostFact& fact) { return from_fact("hcn.available", fact, kFixHcn); }
DoctorCheck check_hvsocket(const HostFact& fact) { return from_fact("hvsocket.available", fact, kFixHvsocket); }

DoctorCheck check_kernel_artifact(const std::filesystem::path& kernel_dir) {
  std::error_code ec;
  for (const char* name : {"vmlinux", "bzImage"}) {
    const auto path = kernel_dir / name;
    if (std::filesystem::is_regular_file(path, ec)) {
      return DoctorCheck{"kernel.artifact", CheckStatus::ok, "guest kernel: " + path.string(), ""};
    }
  }
  return DoctorCheck{"kernel.artifact", CheckStatus::fail, "no guest kernel (vmlinux or bzImage) in " + kernel_dir.string(),
                     "run: microagent kernel fetch"};
}

DoctorCheck check_guestinit(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) {
    return DoctorCheck{"guestinit.binary", CheckStatus::ok, "guest init: " + path.string(), ""};
  }
  return DoctorCheck{"guestinit.binary", CheckStatus::fail, "guest init not found at " + path.string(),
                     "install microagent-guestinit-x86_64 beside the supervisor (it ships in the release archive)"};
}

DoctorCheck check_console(const HostFact& named_pipes) {
  if (!named_pipes.ok) {
    return DoctorCheck{"console.capability", CheckStatus::warn,
                       "COM1 cannot be captured (" + named_pipes.detail + "): serial.log stays empty",
                       "use `microagent connect` for a shell; it needs Hyper-V sockets only"};
  }
  return DoctorCheck{"console.capability", CheckStatus::ok,
                     "COM1 output is captured to serial.log through an HCS named pipe; console input is not "
                     "supported on windows-hyperv (use `microagent connect`)",
                     ""};
}

protocol::DoctorReport run_hyperv_doctor(const DoctorInputs& inputs) {
  protocol::DoctorReport report;
  report.backend = std::string(kBackendName);
  const auto& host = inputs.host;
  report.checks = {check_hcs(host.hcs),          check_virtualization(host.virtualization),
                   check_hcs_access(host.hcs_access), check_hcn(host.hcn),
                   check_hvsocket(host.hvsocket), check_kernel_artifact(inputs.kernel_dir),
                   check_guestinit(inputs.guestinit_path), check_console(host.named_pipes)};
  report.can_run = protocol::no_check_failed(report.checks);
  report.accel = report.can_run ? "hyperv" : "";
  if (report.can_run) {
    report.summary = "windows-hyperv: HCS can run Linux guests here (Hyper-V)";
  } else {
    for (const auto& check : report.checks) {
      if (check.status != CheckStatus::fail) continue;
      report.summary = "windows-hyperv cannot run here: " + check.detail;
      break;
    }
  }
  return report;
}

Result<void> require_host(const HostCapabilities& host, bool needs_network) {
  std::vector<DoctorCheck> gates = {check_hcs(host.hcs), check_virtualization(host.virtualization),
                                    check_hcs_access(host.hcs_access), check_hvsocket(host.hvsocket)};
  if (needs_network) gates.push_back(check_hcn(host.hcn));
  for (const auto& gate : gates) {
    if (gate.status != CheckStatus::fail) continue;
    const auto code = gate.name == "hcs.access" ? ErrorCode::permission_denied : ErrorCode::host_unavailable;
    return fail(code, gate.detail + ". Fix: " + gate.fix);
  }
  return {};
}

}  // namespace microagent::windows_hyperv
