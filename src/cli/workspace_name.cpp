// The workspace name as the CLI takes it: validated once, at parse time.
#include "cli/commands.hpp"
#include "protocol/json_codec.hpp"

namespace microagent::cli {

CLI::Validator workspace_name_validator() {
  return CLI::Validator(
      [](std::string& name) -> std::string {
        auto valid = protocol::validate_runtime_id(name);
        if (valid) return {};
        std::string why = valid.error().message;
        if (const std::string field = "identity.runtimeID "; why.rfind(field, 0) == 0) why.erase(0, field.size());
        return "workspace name '" + name + "' " + why;
      },
      "NAME");
}

CLI::Option* add_workspace_name(CLI::App* cmd, std::string& name) {
  return cmd->add_option("name", name, "Workspace name")->required()->check(workspace_name_validator());
}

}  // namespace microagent::cli
