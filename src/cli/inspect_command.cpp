// `microagent inspect NAME`: the latest event of a workspace.
#include <iostream>

#include "cli/commands.hpp"
#include "cli/supervisor_client.hpp"
#include "protocol/json_codec.hpp"

namespace microagent::cli {

void add_inspect_command(CLI::App& app, GlobalOptions& global) {
  auto name = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("inspect", "Show a workspace's latest event");
  cmd->alias("status");
  cmd->add_option("name", *name, "Workspace name")->required();
  cmd->callback([&global, name] {
    auto supervisor = find_supervisor(global.backend, global.supervisor);
    if (!supervisor) {
      global.exit_code = report_error(global, std::string(to_string(supervisor.error().code)), supervisor.error().message);
      return;
    }
    nlohmann::json request{{"command", "inspect"},
                           {"identity", {{"runtimeID", *name}, {"backend", global.backend}}},
                           {"config", {{"stateDir", std::filesystem::absolute(global.state_dir).string()}}}};
    auto response = call_supervisor(*supervisor, request);
    if (!response) {
      global.exit_code = report_error(global, std::string(to_string(response.error().code)), response.error().message);
      return;
    }
    if (!response->value("ok", false)) {
      const Error error = response_error(*response);
      global.exit_code = report_error(global, std::string(to_string(error.code)), error.message);
      return;
    }
    const auto& event = (*response)["event"];
    if (global.json) {
      std::cout << event.dump(2) << std::endl;
    } else {
      std::cout << event["identity"].value("runtimeID", std::string()) << "  " << event.value("state", std::string())
                << "  " << event.value("observedAt", std::string()) << "  " << event.value("detail", std::string())
                << std::endl;
    }
    global.exit_code = 0;
  });
}

}  // namespace microagent::cli
