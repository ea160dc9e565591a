#include "backends/linux_kvm/guest_launch.hpp"

#include <filesystem>

#include "backends/linux_kvm/host_profile.hpp"
#include "image/initramfs.hpp"

namespace microagent::linux_kvm {

GuestConfig guest_config_for(const protocol::WorkspaceConfig& config) {
  GuestConfig guest;
  guest.argv = config.command;
  guest.env = config.env;
  guest.workdir = config.workdir;
  guest.result_port = config.result_port;
  guest.output_limit = config.output_limit;
  return guest;
}

Result<GuestLaunchPlan> plan_guest_launch(const protocol::WorkspaceConfig& config) {
  return plan_guest_launch(config, guest_config_for(config));
}

Result<GuestLaunchPlan> plan_guest_launch(const protocol::WorkspaceConfig& config, GuestConfig guest) {
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
  if (!config.rootfs_path.empty()) {
    return fail(ErrorCode::unsupported, "config.rootfsPath (root disks) is not supported by this version yet");
  }
  if (!config.disks.empty()) return fail(ErrorCode::unsupported, "config.disks is not supported by this version yet");
  // Guests get no network device in this version. `user` (the default) and
  // `isolated` run without one; anything that needs a host side fails closed.
  const bool wants_host_network = config.network.mode == "nat" || config.network.mode == "bridged";
  if (wants_host_network || !config.network.port_forwards.empty() || config.mediation) {
    return fail(ErrorCode::unsupported, "networking (mode '" + config.network.mode +
                                            "', port forwards, mediation) is not supported by this version yet");
  }

  GuestLaunchPlan plan;
  plan.guest = std::move(guest);
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
