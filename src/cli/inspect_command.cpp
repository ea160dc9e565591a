// `microagent inspect NAME`: the latest event of a workspace, with readiness and
// its manifest. `microagent status NAME`: the same, with every manifest hash
// computed again; exits 1 when a file diverged from what the workspace recorded.
#include <iostream>

#include "cli/commands.hpp"
#include "cli/workspace_client.hpp"

namespace microagent::cli {
namespace {

void print_manifest_check(const nlohmann::json& manifest) {
  if (!manifest.contains("divergences")) return;
  if (manifest["divergences"].empty()) {
    std::cout << "  manifest: verified (every recorded SHA-256 matches)" << std::endl;
    return;
  }
  for (const auto& d : manifest["divergences"]) {
    std::cout << "  manifest: " << d.value("item", "") << " " << d.value("path", "") << " diverged: recorded "
              << d.value("recorded", "") << ", now " << d.value("actual", "") << std::endl;
  }
}

void add_inspect_verb(CLI::App& app, GlobalOptions& global, const std::string& verb, const std::string& help, bool verify) {
  auto name = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(verb, help);
  add_workspace_name(cmd, *name);
  cmd->callback([&global, name, verify] {
    protocol::RequestOptions options;
    options.verify = verify;
    auto event = workspace_request(global, protocol::Command::inspect, *name, std::nullopt, options);
    if (!event) {
      global.exit_code = report(global, event.error());
      return;
    }
    print_event(global, *event);
    const bool diverged = event->contains("manifest") && (*event)["manifest"].contains("divergences") &&
                          !(*event)["manifest"]["divergences"].empty();
    if (verify && !global.json && event->contains("manifest")) print_manifest_check((*event)["manifest"]);
    global.exit_code = diverged ? 1 : 0;
  });
}

}  // namespace

void add_inspect_command(CLI::App& app, GlobalOptions& global) {
  add_inspect_verb(app, global, "inspect", "Show a workspace's latest event, readiness and manifest", false);
  add_inspect_verb(app, global, "status", "Like inspect, and check every file of the manifest against its SHA-256", true);
}

}  // namespace microagent::cli
