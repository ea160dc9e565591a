#pragma once
// Which backends can serve this host. A request naming a backend for another
// platform fails here, before any rootfs or initramfs is built and before any
// supervisor is run (issue 7). Whether a Linux host is WSL2 is the wsl2
// supervisor's call (it owns WSL detection): `--backend wsl2` outside WSL2 is
// answered by that supervisor with host_unavailable.
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace microagent::cli {

enum class HostPlatform { linux, windows };

// The platform this CLI was built for.
HostPlatform this_platform();
std::string_view to_string(HostPlatform platform);

// invalid_request for a name that is no backend at all; host_unavailable for
// a backend of another platform (windows-hyperv on Linux, linux-kvm and wsl2
// on Windows), naming the backends this host has.
Result<void> check_backend_for_host(std::string_view backend, HostPlatform platform = this_platform());
// The same, plus: wsl2 only inside WSL2 (read from the real host).
Result<void> check_backend_here(std::string_view backend);

}  // namespace microagent::cli
