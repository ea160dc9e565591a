#include "cli/workspace_client.hpp"

#include <filesystem>
#include <iostream>

#include "cli/platform_routing.hpp"
#include "cli/supervisor_client.hpp"
#include "cli/workspace_request.hpp"
#include "protocol/json_codec.hpp"

namespace microagent::cli {

std::string absolute_state_dir(const GlobalOptions& global) {
  return std::filesystem::absolute(global.state_dir).lexically_normal().string();
}

Result<nlohmann::json> workspace_request(const GlobalOptions& global, protocol::Command command, const std::string& name,
                                         std::optional<protocol::WorkspaceConfig> config,
                                         const protocol::RequestOptions& options) {
  if (auto routed = check_backend_here(global.backend); !routed) return std::unexpected(routed.error());
  auto supervisor = find_supervisor(global.backend, global.supervisor);
  if (!supervisor) return std::unexpected(supervisor.error());
  if (!config) {
    config.emplace();
    config->state_dir = absolute_state_dir(global);
  }
  const auto request = protocol::to_json(make_request(command, name, global.backend, std::move(*config), options));
  auto response = call_supervisor(*supervisor, request);
  if (!response) return std::unexpected(response.error());
  if (!(*response)["ok"].get<bool>()) return std::unexpected(response_error(*response));
  if (!response->contains("event") || !(*response)["event"].is_object()) {
    return fail(ErrorCode::internal, "supervisor response has no event");
  }
  return (*response)["event"];
}

void print_event(const GlobalOptions& global, const nlohmann::json& event) {
  if (global.json) {
    std::cout << event.dump(2) << std::endl;
    return;
  }
  auto text = [&](const nlohmann::json& j, const char* key) {
    return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
  };
  const std::string name = event.contains("identity") ? text(event["identity"], "runtimeID") : std::string();
  std::cout << name << "  " << text(event, "state") << "  " << text(event, "observedAt") << "  " << text(event, "detail")
            << std::endl;
  if (event.contains("readiness") && event["readiness"].is_object()) {
    for (const auto& [key, signal] : event["readiness"].items()) {
      const bool ready = signal.contains("ready") && signal["ready"].is_boolean() && signal["ready"].get<bool>();
      std::cout << "  " << key << ": " << (ready ? "ready" : "not ready");
      if (!text(signal, "observedAt").empty()) std::cout << " (" << text(signal, "observedAt") << ")";
      std::cout << std::endl;
    }
  }
}

}  // namespace microagent::cli
