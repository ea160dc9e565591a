#include "cli/platform_routing.hpp"

#include <cstdlib>

#ifndef _WIN32
#include "common/wsl_host.hpp"
#endif

#include <fmt/core.h>

namespace microagent::cli {
namespace {

struct BackendPlatform {
  std::string_view backend;
  HostPlatform platform;
};

// DESIGN.md section 1: linux-kvm and wsl2 drive QEMU on Linux (wsl2 inside a
// WSL2 distro), windows-hyperv drives HCS on Windows.
constexpr BackendPlatform kBackends[] = {
    {"linux-kvm", HostPlatform::linux},
    {"wsl2", HostPlatform::linux},
    {"windows-hyperv", HostPlatform::windows},
};

std::string backends_for(HostPlatform platform) {
  std::string names;
  for (const auto& entry : kBackends) {
    if (entry.platform == platform) names += (names.empty() ? "" : ", ") + std::string(entry.backend);
  }
  return names;
}

}  // namespace

HostPlatform this_platform() {
#ifdef _WIN32
  return HostPlatform::windows;
#else
  return HostPlatform::linux;
#endif
}

std::string_view to_string(HostPlatform platform) { return platform == HostPlatform::windows ? "Windows" : "Linux"; }

Result<void> check_backend_for_host(std::string_view backend, HostPlatform platform) {
  for (const auto& entry : kBackends) {
    if (entry.backend != backend) continue;
    if (entry.platform == platform) return {};
    return fail(ErrorCode::host_unavailable,
                fmt::format("the {} backend runs on {} hosts only and this host runs {}: use --backend {}", backend,
                            to_string(entry.platform), to_string(platform), backends_for(platform)));
  }
  std::string all;
  for (const auto& entry : kBackends) all += (all.empty() ? "" : ", ") + std::string(entry.backend);
  return fail(ErrorCode::invalid_request, fmt::format("unknown backend '{}': expected one of {}", backend, all));
}

Result<void> check_backend_here(std::string_view backend) {
  if (auto ok = check_backend_for_host(backend); !ok) return ok;
#ifndef _WIN32  // on Windows wsl2 was refused above: it is a Linux backend
  if (backend == "wsl2") {
    const char* distro = std::getenv("WSL_DISTRO_NAME");
    return require_wsl2(detect_wsl(HostRoot("/"), distro ? distro : ""));
  }
#endif
  return {};
}

}  // namespace microagent::cli
