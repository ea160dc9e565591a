#include "guestinit/control_channel.hpp"

#include <nlohmann/json.hpp>

namespace microagent::guestinit {

using nlohmann::json;

std::string readiness_line(std::string_view event, std::string_view at) {
  return json{{"event", event}, {"at", at}}.dump() + "\n";
}

Result<ControlRequest> parse_control_command(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  json doc = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return fail(ErrorCode::invalid_request, "control: not a JSON object");
  auto it = doc.find("command");
  if (it == doc.end() || !it->is_string()) return fail(ErrorCode::invalid_request, "control: \"command\" must be a string");
  const auto command = it->get<std::string>();
  if (command != "halt") {
    return fail(ErrorCode::unsupported, "control: unknown command \"" + command + "\" (supported: halt)");
  }
  ControlRequest request;
  if (auto grace = doc.find("graceMs"); grace != doc.end()) {
    if (!grace->is_number_unsigned() || grace->get<std::uint64_t>() > kMaxHaltGraceMs) {
      return fail(ErrorCode::invalid_request,
                  "control: \"graceMs\" must be an integer from 0 to " + std::to_string(kMaxHaltGraceMs));
    }
    request.grace_ms = grace->get<std::uint64_t>();
  }
  return request;
}

std::string control_reply(bool ok, std::string_view error) {
  json doc = {{"ok", ok}};
  if (!ok) doc["error"] = error;
  return doc.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace microagent::guestinit
