#pragma once
// Lifecycle requests from the CLI to the backend supervisor, by workspace name.
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "common/error.hpp"
#include "protocol/types.hpp"

namespace microagent::cli {

// Sends `command` for workspace `name` with `config` (default: just the state
// dir) and `options`; returns the event of an ok response.
Result<nlohmann::json> workspace_request(const GlobalOptions& global, protocol::Command command, const std::string& name,
                                         std::optional<protocol::WorkspaceConfig> config = std::nullopt,
                                         const protocol::RequestOptions& options = {});

// Prints an event: one line for humans, the JSON with --json.
void print_event(const GlobalOptions& global, const nlohmann::json& event);

std::string absolute_state_dir(const GlobalOptions& global);

}  // namespace microagent::cli
