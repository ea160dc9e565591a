// A Request as the JSON a supervisor reads (DESIGN.md section 2): what every
// CLI sends, so no request is written by hand. parse_request reads it back.
#include "protocol/json_codec.hpp"

namespace microagent::protocol {

namespace {

// Commands that create or boot a workspace carry its whole config; the others
// name the workspace and its state dir, and the backend reads the rest from it.
bool carries_full_config(Command command) {
  return command == Command::check || command == Command::prepare || command == Command::run ||
         command == Command::start;
}

}  // namespace

nlohmann::json to_json(const Request& request) {
  nlohmann::json out{{"command", to_string(request.command)}};
  const RequestOptions& options = request.options;
  if (request.command == Command::host) {
    if (options.host_state_dir) out["stateDir"] = *options.host_state_dir;
    return out;
  }
  if (request.identity) out["identity"] = to_json(*request.identity);
  if (request.config) {
    out["config"] = carries_full_config(request.command) ? to_json(*request.config)
                                                         : nlohmann::json{{"stateDir", request.config->state_dir}};
  }
  if (request.command == Command::halt) out["options"]["graceSeconds"] = options.grace_seconds;
  if (request.command == Command::quarantine) out["options"]["noCapture"] = options.no_capture;
  if (request.command == Command::inspect && options.verify) out["verify"] = true;
  if (request.command == Command::console && options.console_input) out["input"] = *options.console_input;
  return out;
}

}  // namespace microagent::protocol
