// `microagent inspect|status NAME`: the latest event of a workspace, with readiness.
#include "cli/commands.hpp"
#include "cli/workspace_client.hpp"

namespace microagent::cli {

void add_inspect_command(CLI::App& app, GlobalOptions& global) {
  auto name = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("inspect", "Show a workspace's latest event and readiness");
  cmd->alias("status");
  cmd->add_option("name", *name, "Workspace name")->required();
  cmd->callback([&global, name] {
    auto event = workspace_request(global, "inspect", *name);
    if (!event) {
      global.exit_code = report(global, event.error());
      return;
    }
    print_event(global, *event);
    global.exit_code = 0;
  });
}

}  // namespace microagent::cli
