#pragma once
// Lifecycle requests from the CLI to the backend supervisor, by workspace name.
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "common/error.hpp"

namespace microagent::cli {

// Sends `command` for workspace `name` with `config` (default: just stateDir)
// and optional top-level `extra` fields; returns the event of an ok response.
Result<nlohmann::json> workspace_request(const GlobalOptions& global, const std::string& command, const std::string& name,
                                         std::optional<nlohmann::json> config = std::nullopt,
                                         const nlohmann::json& extra = nlohmann::json::object());

// Prints an event: one line for humans, the JSON with --json.
void print_event(const GlobalOptions& global, const nlohmann::json& event);

std::string absolute_state_dir(const GlobalOptions& global);

}  // namespace microagent::cli
