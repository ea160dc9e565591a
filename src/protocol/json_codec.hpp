#pragma once
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "protocol/runtime_id.hpp"
#include "protocol/types.hpp"

namespace microagent::protocol {

std::string_view to_string(State state);
std::optional<State> state_from_string(std::string_view text);
std::string_view to_string(Command command);
std::optional<Command> command_from_string(std::string_view text);
std::string_view to_string(NetworkMode mode);
std::optional<NetworkMode> network_mode_from_string(std::string_view text);

nlohmann::json to_json(const Identity& identity);
nlohmann::json to_json(const NetworkSpec& network);
nlohmann::json to_json(const MediationSpec& mediation);
nlohmann::json to_json(const WorkspaceConfig& config);
nlohmann::json to_json(const Readiness& readiness);
nlohmann::json to_json(const Event& event);
// A request as a supervisor reads it (protocol/request_json.cpp).
nlohmann::json to_json(const Request& request);
Result<Identity> identity_from_json(const nlohmann::json& json);
Result<WorkspaceConfig> config_from_json(const nlohmann::json& json);
Result<Event> event_from_json(const nlohmann::json& json);

// Parses and validates one request line: JSON shape, command, and which parts
// the command needs (host: none; inspect/stop/kill/delete: identity + stateDir;
// the rest: identity + full config).
Result<Request> parse_request(std::string_view text);

nlohmann::json ok_response(std::string_view backend, const Event& event);
nlohmann::json error_response(std::string_view backend, const Error& error);

}  // namespace microagent::protocol
