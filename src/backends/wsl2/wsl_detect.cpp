#include "backends/wsl2/wsl_detect.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/core.h>

namespace microagent::wsl2 {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

std::string WslHost::describe() const {
  if (is_wsl2()) {
    return fmt::format("WSL2 distro '{}' (kernel {})", distro.empty() ? "unknown" : distro, kernel_release);
  }
  if (wsl1_kernel) return fmt::format("WSL1 (kernel {}): WSL1 runs no virtual machines", kernel_release);
  if (wsl2_kernel) return fmt::format("a WSL2 kernel ({}) without the WSL environment", kernel_release);
  return fmt::format("not WSL2 (kernel {})", kernel_release.empty() ? "unknown" : kernel_release);
}

WslHost detect_wsl(const HostRoot& root, std::string_view distro_env) {
  WslHost host;
  host.kernel_release = root.read_line("/proc/sys/kernel/osrelease").value_or("");
  const std::string release = lower(host.kernel_release);
  host.wsl2_kernel = release.find("microsoft-standard-wsl2") != std::string::npos;
  host.wsl1_kernel = !host.wsl2_kernel && release.find("microsoft") != std::string::npos;
  host.distro = std::string(distro_env);
  host.interop = root.exists("/proc/sys/fs/binfmt_misc/WSLInterop") || root.exists("/run/WSL");
  return host;
}

Result<void> require_wsl2(const WslHost& host) {
  if (host.is_wsl2()) return {};
  return fail(ErrorCode::host_unavailable,
              "the wsl2 backend runs only inside a WSL2 distro, and this host is " + host.describe() +
                  ": use --backend linux-kvm on Linux, or windows-hyperv on Windows");
}

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
