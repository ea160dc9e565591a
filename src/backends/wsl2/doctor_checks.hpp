#pragma once
// `doctor` for wsl2: the linux-kvm checks plus what WSL2 adds: nested KVM as
// a gate, the memory and CPU budget WSL grants the distro, the state dir kept
// off /mnt/<drive>, no reflink on WSL's ext4, and how Windows reaches a
// published port.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "backends/linux_kvm/doctor_checks.hpp"
#include "backends/wsl2/wsl_detect.hpp"

namespace microagent::wsl2 {

using protocol::DoctorCheck;

// The [wsl2] keys of a Windows %UserProfile%\.wslconfig that matter here.
struct WslConfig {
  std::string path;  // where it was read (a host path)
  std::string memory;       // "8GB"
  std::string processors;   // "4"
  std::string localhost_forwarding;  // "true" | "false" | "" (default true)
  std::string networking_mode;       // "nat" | "mirrored" | ""
};

// Keys are case-insensitive, values trimmed; other sections and comments are skipped.
WslConfig parse_wslconfig(std::string_view text);
// The first readable /mnt/c/Users/*/.wslconfig (sorted), if any.
std::optional<WslConfig> read_wslconfig(const HostRoot& root);

DoctorCheck check_wsl_host(const WslHost& host);                    // "wsl.host"
DoctorCheck check_wsl_kvm(const linux_kvm::KvmProbe& probe);        // "wsl.kvm": the nested KVM gate
DoctorCheck check_wsl_memory(const HostRoot& root, const std::optional<WslConfig>& config);  // "wsl.memory"
DoctorCheck check_wsl_cpus(const HostRoot& root, const std::optional<WslConfig>& config);    // "wsl.cpus"
DoctorCheck check_wsl_state_dir(const std::filesystem::path& state_dir);                     // "wsl.statedir"
DoctorCheck check_wsl_reflink();                                                             // "wsl.reflink"
// "wsl.ports"; runs `hostname -I` through the context's runner.
DoctorCheck check_wsl_ports(const linux_kvm::DoctorContext& context, const std::optional<WslConfig>& config);

// True for /mnt/<drive> and anything under it (Windows drives mounted by WSL).
bool on_windows_drive(const std::filesystem::path& path);

// Outside WSL2: host_unavailable (require_wsl2). Inside: the linux-kvm
// checks for backend "wsl2" plus the ones above, concluded.
Result<linux_kvm::LinuxDoctor> run_wsl2_doctor(const linux_kvm::DoctorContext& context, const WslHost& host);

}  // namespace microagent::wsl2
