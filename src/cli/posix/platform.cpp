// The POSIX side of cli/platform.hpp (Linux and WSL2 hosts).
#include "cli/platform.hpp"

#include <signal.h>

#include "cli/posix/workspace_disks.hpp"
#include "common/paths.hpp"
#include "protocol/runtime_id.hpp"
#include "supervisor/runtime_store.hpp"

namespace microagent::cli {

void prepare_process() { signal(SIGPIPE, SIG_IGN); }

std::filesystem::path default_cli_state_dir() { return default_state_dir(); }

std::string default_backend() { return "linux-kvm"; }

void add_platform_commands(CLI::App& app, GlobalOptions& global) {
  add_kernel_command(app, global);
  add_network_command(app, global);
  add_image_command(app, global);
}

std::size_t count_image_and_disk_flags(CLI::App* cmd) {
  return cmd->count("--image") + cmd->count("--entrypoint") + cmd->count("--user") + cmd->count("--disk") +
         cmd->count("--volume");
}

std::filesystem::path run_scratch_dir(const GlobalOptions& global, const RunOptions& options, const std::string& name) {
  auto id = protocol::RuntimeId::parse(name);
  if (options.volumes.empty() || !id) return {};
  return run_volumes_dir(supervisor::RuntimeStore(std::filesystem::absolute(global.state_dir).lexically_normal(), *id));
}

}  // namespace microagent::cli
