#include "common/wsl_host.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/core.h>

namespace microagent {
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

}  // namespace microagent
