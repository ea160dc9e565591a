#include "backends/windows_hyperv/vm_preflight.hpp"

#include "backends/windows_hyperv/doctor_checks.hpp"
#include "backends/windows_hyperv/network_attachment.hpp"
#include "backends/windows_hyperv/workspace_disks.hpp"
#include "supervisor/host_fit.hpp"

namespace microagent::windows_hyperv {

Result<void> preflight_vm(WindowsHost& host, const protocol::WorkspaceConfig& config) {
  if (auto ok = validate_network(config.network); !ok) return ok;
  if (auto ok = validate_disk_config(config); !ok) return ok;
  if (auto ok = require_host(host.probe(), config.network.mode != protocol::NetworkMode::isolated); !ok) return ok;
  if (auto ok = supervisor::check_fits_host(config, host.capacity()); !ok) return ok;
  if (auto ok = supervisor::check_kernel_image(config.kernel_path); !ok) return ok;
  return supervisor::check_readable_file(config.initrd_path, "initrdPath");
}

}  // namespace microagent::windows_hyperv
