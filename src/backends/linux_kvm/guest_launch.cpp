#include "backends/linux_kvm/guest_launch.hpp"

#include <filesystem>

#include "backends/linux_kvm/disk_layout.hpp"
#include "backends/linux_kvm/host_fit.hpp"
#include "backends/linux_kvm/host_profile.hpp"
#include "image/initramfs.hpp"

namespace microagent::linux_kvm {

GuestConfig guest_config_for(const protocol::WorkspaceConfig& config) {
  GuestConfig guest;
  guest.argv = config.command;
  guest.env = config.env;
  guest.workdir = config.workdir;
  guest.user = config.user;
  guest.result_port = config.result_port;
  guest.output_limit = config.output_limit;
  return guest;
}

Result<GuestLaunchPlan> plan_guest_launch(const protocol::WorkspaceConfig& config) {
  return plan_guest_launch(config, guest_config_for(config));
}

Result<GuestLaunchPlan> plan_guest_launch(const protocol::WorkspaceConfig& config, GuestConfig guest,
                                          const LaunchDisks& disks) {
  auto require_file = [](const std::string& path, const char* field) -> Result<void> {
    if (path.empty()) {
      return fail(ErrorCode::invalid_request, std::string("config.") + field + " is required (run: microagent kernel fetch)");
    }
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
      return fail(ErrorCode::not_found, std::string("config.") + field + " does not exist: " + path);
    }
    return {};
  };
  if (auto ok = require_file(config.kernel_path, "kernelPath"); !ok) return std::unexpected(ok.error());
  if (auto ok = require_file(config.initrd_path, "initrdPath"); !ok) return std::unexpected(ok.error());
  // Refused here, before anything starts: QEMU would take a 1 TiB memfd or
  // /etc/passwd as a kernel and fail (or hang) only later.
  if (auto ok = check_kernel_image(config.kernel_path); !ok) return std::unexpected(ok.error());
  if (auto ok = check_readable_file(config.initrd_path, "initrdPath"); !ok) return std::unexpected(ok.error());
  if (auto ok = check_fits_host(config, measure_host_capacity()); !ok) return std::unexpected(ok.error());
  if (!config.rootfs_path.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(config.rootfs_path, ec)) {
      return fail(ErrorCode::not_found, "config.rootfsPath does not exist: " + config.rootfs_path);
    }
  }
  for (const auto& disk : config.disks) {
    std::error_code ec;
    const auto status = std::filesystem::status(disk.path, ec);
    if (!std::filesystem::is_regular_file(status) && !std::filesystem::is_block_file(status)) {
      return fail(ErrorCode::not_found, "data disk " + disk.path + " is not a file or block device");
    }
  }
  WorkspaceDisks layout;
  if (!config.rootfs_path.empty() && !disks.root_overlay.empty()) layout.root = QemuDisk{disks.root_overlay, "qcow2", false};
  if (!disks.workspace_disk.empty()) layout.workspace = QemuDisk{disks.workspace_disk, "raw", false};
  layout.data = config.disks;
  auto attached = lay_out_disks(layout);
  if (!attached) return std::unexpected(attached.error());
  // Networking: checked here without touching the host (isolated + publish,
  // bridged without a bridge...); host preflight and set-up come at start/run.
  if (auto ok = net::validate_network_config(config); !ok) return std::unexpected(ok.error());

  GuestLaunchPlan plan;
  plan.guest = std::move(guest);
  // Provisional until apply_network_assignment (nat learns its subnet then).
  plan.guest.network = net::guest_network_for(net::plan_assignment(config, ""), config);
  plan.guest.root_device = attached->root_device;
  plan.guest.disks.insert(plan.guest.disks.end(), attached->mounts.begin(), attached->mounts.end());
  plan.machine.disks = attached->drives;
  // Small configs ride on the kernel command line; larger ones go into the
  // initramfs as microagent/config.json (materialize_guest_config).
  auto param = encode_config_cmdline_param(plan.guest);
  plan.config_in_initramfs = !param.has_value();
  plan.machine.kernel = config.kernel_path;
  plan.machine.initrd = config.initrd_path;
  plan.machine.memory_mib = config.memory_mib;
  plan.machine.cpu_count = config.cpu_count;
  plan.machine.kernel_cmdline = build_kernel_cmdline(KernelCmdlineSpec{host_profile().tsc_khz, true, param.value_or("")});
  return plan;
}

void apply_network_assignment(GuestLaunchPlan& plan, const net::NetworkAssignment& assignment,
                              const protocol::WorkspaceConfig& config) {
  plan.guest.network = net::guest_network_for(assignment, config);
  auto param = encode_config_cmdline_param(plan.guest);
  plan.config_in_initramfs = !param.has_value();
  plan.machine.kernel_cmdline = build_kernel_cmdline(KernelCmdlineSpec{host_profile().tsc_khz, true, param.value_or("")});
}

Result<void> materialize_guest_config(GuestLaunchPlan& plan, const std::filesystem::path& runtime_dir) {
  if (!plan.config_in_initramfs) return {};
  const auto initrd = runtime_dir / "initrd-with-config.cpio";
  if (auto ok = image::write_initramfs_with_files(plan.machine.initrd, {{kInitramfsConfigPath, guest_config_to_json(plan.guest), 0600}},
                                                  initrd);
      !ok) {
    return ok;
  }
  plan.machine.initrd = initrd;
  return {};
}

}  // namespace microagent::linux_kvm
