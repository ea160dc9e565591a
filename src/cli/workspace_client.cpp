#include "cli/workspace_client.hpp"

#include <chrono>
#include <filesystem>
#include <iostream>

#include <fmt/core.h>

#include "cli/platform_routing.hpp"
#include "cli/supervisor_client.hpp"

namespace microagent::cli {

std::string absolute_state_dir(const GlobalOptions& global) {
  return std::filesystem::absolute(global.state_dir).lexically_normal().string();
}

Result<nlohmann::json> workspace_request(const GlobalOptions& global, const std::string& command, const std::string& name,
                                         std::optional<nlohmann::json> config, const nlohmann::json& extra) {
  if (auto routed = check_backend_here(global.backend); !routed) return std::unexpected(routed.error());
  auto supervisor = find_supervisor(global.backend, global.supervisor);
  if (!supervisor) return std::unexpected(supervisor.error());
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  nlohmann::json request{
      {"command", command},
      {"identity",
       {{"requestID", fmt::format("req-{}", std::chrono::duration_cast<std::chrono::microseconds>(now).count())},
        {"runtimeID", name},
        {"role", "workload"},
        {"backend", global.backend}}},
      {"config", config.value_or(nlohmann::json{{"stateDir", absolute_state_dir(global)}})}};
  for (const auto& [key, value] : extra.items()) request[key] = value;
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
