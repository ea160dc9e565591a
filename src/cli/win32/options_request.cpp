// What a windows-hyperv guest boots: the kernel and initrd the flags name,
// else the cached kernel artifact under %MICROAGENT_HOME%, and an optional
// ext4 root disk. Images and volumes are POSIX-only for now (issue 19).
#include "cli/commands.hpp"
#include "cli/network_flags.hpp"
#include "cli/workspace_request.hpp"

#include "backends/windows_hyperv/win32/windows_paths.hpp"

namespace microagent::cli {

void add_image_and_disk_flags(CLI::App* cmd, RunOptions& options) {
  cmd->add_option("--kernel", options.kernel, "Guest kernel (default: the cached kernel artifact)");
  cmd->add_option("--initrd", options.initrd, "Guest initramfs (default: the cached one)");
  cmd->add_option("--rootfs", options.rootfs, "Root disk: an ext4 image (default: the initramfs only)");
  cmd->add_option("--user,-u", options.user, "Run the workload as uid[:gid] or name[:group] (default: root)");
}

Result<protocol::Request> request_from_options(protocol::Command command, const GlobalOptions& global,
                                               const RunOptions& options, const std::string& name) {
  const auto kernel_dir = windows_hyperv::win32::microagent_home() / "kernels" / "x86_64" / "current";
  WorkspaceRequestInput input = shared_request_input(global, options, name);
  input.kernel = options.kernel.empty() ? kernel_dir / "vmlinux" : std::filesystem::path(options.kernel);
  input.initrd = options.initrd.empty() ? kernel_dir / "initrd.img" : std::filesystem::path(options.initrd);
  input.rootfs = options.rootfs;
  auto request = build_workspace_request(command, input);
  if (!request) return request;
  if (auto ok = apply_network_flags(options.network, *request->config); !ok) return std::unexpected(ok.error());
  return request;
}

}  // namespace microagent::cli
