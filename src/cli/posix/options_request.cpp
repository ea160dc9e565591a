#include "cli/commands.hpp"
#include "cli/disk_flags.hpp"
#include "cli/posix/guest_assets.hpp"
#include "cli/posix/image_defaults.hpp"
#include "cli/posix/workspace_disks.hpp"
#include "cli/workspace_request.hpp"
#include "protocol/runtime_id.hpp"
#include "supervisor/runtime_store.hpp"

namespace microagent::cli {

void add_image_and_disk_flags(CLI::App* cmd, RunOptions& options) {
  cmd->add_option("--image", options.image, "Image to boot (a name or digest from `microagent image ls`)");
  cmd->add_option("--entrypoint", options.entrypoint, "Replace the image's Entrypoint (an empty string clears it)");
  cmd->add_option("--user,-u", options.user, "Run the workload as uid[:gid] or name[:group] (default: the image's User)");
  cmd->add_option("--disk", options.disks, "Attach a raw ext4 image or block device: PATH:/mount[:ro|rw] (repeatable)");
  cmd->add_option("--volume,-v", options.volumes,
                  "Copy a host directory into a new disk: HOSTDIR:/mount[:ro] (repeatable; guest writes stay in the copy)");
}

Result<protocol::Request> request_from_options(protocol::Command command, const GlobalOptions& global,
                                               const RunOptions& options, const std::string& name) {
  auto assets = default_image_assets();
  if (!assets) return std::unexpected(assets.error());
  WorkspaceRequestInput input = shared_request_input(global, options, name);
  input.kernel = assets->kernel;
  input.initrd = assets->initrd;
  if (options.entrypoint && options.image.empty()) {
    return fail(ErrorCode::invalid_request, "--entrypoint needs --image (the default image has none)");
  }

  std::vector<DiskFlag> volumes;
  for (const auto& text : options.disks) {
    auto disk = parse_disk_flag(text);
    if (!disk) return std::unexpected(disk.error());
    input.disks.push_back(*disk);
  }
  for (const auto& text : options.volumes) {
    auto volume = parse_volume_flag(text);
    if (!volume) return std::unexpected(volume.error());
    volumes.push_back(*volume);
  }
  // The name becomes a path below the state dir: check it before building anything there.
  auto id = protocol::RuntimeId::parse(name);
  if (!id) return fail(ErrorCode::invalid_request, "--name '" + name + "': " + id.error().message);

  const auto state_dir = std::filesystem::absolute(global.state_dir).lexically_normal();
  const supervisor::RuntimeStore store(state_dir, std::move(*id));
  if (!options.image.empty()) {
    auto guest_init = find_guest_init();
    if (!guest_init) return std::unexpected(guest_init.error());
    auto image = select_image(state_dir, options.image, *guest_init);
    if (!image) return std::unexpected(image.error());
    WorkloadOverrides overrides{options.command, std::nullopt, options.env, options.workdir, options.user};
    if (options.entrypoint) {
      overrides.entrypoint = options.entrypoint->empty() ? std::vector<std::string>{}
                                                         : std::vector<std::string>{*options.entrypoint};
    }
    auto defaults = apply_image_config(image->config, overrides, command == protocol::Command::run);
    if (!defaults) return std::unexpected(defaults.error());
    input.command = defaults->argv;
    input.env = defaults->env;
    input.workdir = defaults->workdir;
    input.user = defaults->user;
    input.rootfs = image->root_disk;
    input.image_reference = image->reference;
    input.image_digest = image->digest;
  }
  // A foreground run starts from fresh copies; a started workspace keeps its volumes.
  const bool foreground = command == protocol::Command::run;
  auto built = build_volume_disks(volumes, foreground ? run_volumes_dir(store) : volumes_dir(store),
                                  !foreground);
  if (!built) return std::unexpected(built.error());
  input.disks.insert(input.disks.end(), built->begin(), built->end());
  auto request = build_workspace_request(command, input);
  if (!request) return request;
  if (auto ok = apply_network_flags(options.network, *request->config); !ok) return std::unexpected(ok.error());
  return request;
}

}  // namespace microagent::cli
