#include "backends/windows_hyperv/vm_plan.hpp"

#include <algorithm>

#include "backends/windows_hyperv/hv_constants.hpp"
#include "backends/windows_hyperv/kernel_cmdline.hpp"

namespace microagent::windows_hyperv {

std::vector<std::uint32_t> granted_vsock_ports(const protocol::WorkspaceConfig& config) {
  std::vector<std::uint32_t> ports{config.result_port, kConnectPort, kControlPort};
  for (const auto& forward : config.network.port_forwards) ports.push_back(forward.guest_port);
  if (config.mediation) ports.push_back(config.mediation->port);
  std::sort(ports.begin(), ports.end());
  ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
  return ports;
}

std::string compute_system_id_for(const std::string& runtime_id) { return "microagent-" + runtime_id; }

Result<VmPlan> plan_vm(const protocol::WorkspaceConfig& config, const std::string& runtime_id,
                       const WorkspaceDisks& disks, const std::optional<NetworkAttachment>& network, bool detached) {
  if (config.kernel_path.empty() || config.initrd_path.empty()) {
    return fail(ErrorCode::invalid_request,
                "config.kernelPath and config.initrdPath are required (the windows-hyperv/x86_64 kernel artifact: "
                "microagent kernel fetch)");
  }
  VmPlan plan;
  plan.compute_system_id = compute_system_id_for(runtime_id);
  plan.guest.argv = config.command;
  plan.guest.env = config.env;
  plan.guest.workdir = config.workdir;
  plan.guest.result_port = config.result_port;
  plan.guest.output_limit = config.output_limit;
  plan.guest.root_device = disks.root_device;
  plan.guest.disks = disks.guest_disks;
  plan.guest.keep_alive = detached;
  auto param = encode_config_cmdline_param(plan.guest);
  plan.config_in_initramfs = !param.has_value();

  auto& spec = plan.spec;
  spec.owner = std::string(kOwner);
  spec.terminate_on_last_handle_closed = !detached;
  spec.kernel_path = config.kernel_path;
  spec.initrd_path = config.initrd_path;
  spec.kernel_cmdline = hyperv_kernel_cmdline(param.value_or(""));
  spec.memory_mib = config.memory_mib;
  spec.cpu_count = config.cpu_count;
  spec.disks = disks.scsi;
  spec.vsock_ports = granted_vsock_ports(config);
  spec.com1_pipe = com1_pipe_name(runtime_id);
  if (network) spec.adapter = NetworkAdapter{network->endpoint_id, network->mac_address};
  return plan;
}

}  // namespace microagent::windows_hyperv
