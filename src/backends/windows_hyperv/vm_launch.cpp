#include "backends/windows_hyperv/vm_launch.hpp"

#include "backends/windows_hyperv/config_initramfs.hpp"
#include "common/clock.hpp"
#include "common/guest_wire.hpp"

namespace microagent::windows_hyperv {

Result<CreatedVm> create_vm(WindowsHost& host, const supervisor::RuntimeStore& store,
                            const protocol::WorkspaceConfig& config, bool detached) {
  auto disks = ensure_workspace_disks(config, store.workspace_dir());
  if (!disks) return std::unexpected(disks.error());
  // Nothing to undo before the endpoint exists; from here on, end_vm cleans up.
  auto network = attach_network(host, config.network);
  if (!network) return std::unexpected(network.error());

  CreatedVm vm;
  vm.record.detached = detached;
  vm.record.network = *network;
  auto undo = [&](const Error& error) -> Result<CreatedVm> {
    end_vm(host, store, vm.record, VmEnd::terminate);
    return std::unexpected(error);
  };
  if (auto ok = store.write_runtime(to_json(vm.record)); !ok) return undo(ok.error());

  auto plan = plan_vm(config, store.runtime_id(), *disks, *network, detached);
  if (!plan) return undo(plan.error());
  if (plan->config_in_initramfs) {
    const auto initrd = store.dir() / kInitrdWithConfigName;
    if (auto ok = write_initrd_with_config(config.initrd_path, guest_config_to_json(plan->guest), initrd); !ok) {
      return undo(ok.error());
    }
    plan->spec.initrd_path = initrd.string();
  }
  vm.plan = *plan;
  vm.record.com1_pipe = plan->spec.com1_pipe;
  const nlohmann::json document = compute_system_document(plan->spec);
  vm.record.extra["kernelPath"] = config.kernel_path;
  vm.record.extra["initrdPath"] = plan->spec.initrd_path;
  vm.record.extra["kernelCmdline"] = plan->spec.kernel_cmdline;
  vm.record.extra["createdAt"] = rfc3339_now();

  if (auto ok = host.create_compute_system(plan->compute_system_id, document.dump()); !ok) return undo(ok.error());
  vm.record.compute_system_id = plan->compute_system_id;
  if (auto ok = store.write_runtime(to_json(vm.record)); !ok) return undo(ok.error());

  std::vector<std::filesystem::path> files{config.kernel_path, plan->spec.initrd_path};
  for (const auto& disk : plan->spec.disks) files.emplace_back(disk.path);
  for (const auto& file : files) {
    if (auto ok = host.grant_vm_access(plan->compute_system_id, file); !ok) return undo(ok.error());
  }
  return vm;
}

}  // namespace microagent::windows_hyperv
