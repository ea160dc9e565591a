#include "cli/commands.hpp"
#include "cli/guest_assets.hpp"
#include "cli/workspace_request.hpp"

namespace microagent::cli {

Result<nlohmann::json> request_from_options(const std::string& command, const GlobalOptions& global,
                                            const RunOptions& options, const std::string& name) {
  auto assets = default_image_assets();
  if (!assets) return std::unexpected(assets.error());
  WorkspaceRequestInput input;
  input.state_dir = global.state_dir;
  input.name = name;
  input.backend = global.backend;
  input.memory_mib = options.memory_mib;
  input.cpus = options.cpus;
  input.env = options.env;
  input.workdir = options.workdir;
  input.timeout_seconds = options.timeout_seconds;
  input.output_limit = options.output_limit;
  input.command = options.command;
  input.kernel = assets->kernel;
  input.initrd = assets->initrd;
  return build_workspace_request(command, input);
}

}  // namespace microagent::cli
