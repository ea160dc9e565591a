#include "shim/readiness_tracker.hpp"

#include "common/json_depth.hpp"
#include "protocol/json_codec.hpp"

namespace microagent::shim {

Result<void> apply_readiness_line(const std::string& line, protocol::Readiness& readiness, const std::string& now) {
  // A guest wrote this line: check its depth before the recursive parser sees it.
  nlohmann::json j(nlohmann::json::value_t::discarded);
  if (json_nesting_within(line, 8)) j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("event") || !j["event"].is_string()) {
    return fail(ErrorCode::invalid_request, "control message is not {\"event\":...}");
  }
  const std::string event = j["event"];
  protocol::ReadinessSignal* signal = nullptr;
  if (event == "guestReady") signal = &readiness.guest_ready;
  if (event == "shellReady") signal = &readiness.shell_ready;
  if (event == "mediationReady") signal = &readiness.mediation_ready;
  if (!signal) return fail(ErrorCode::invalid_request, "unknown readiness event '" + event + "'");
  signal->ready = true;
  signal->observed_at = j.contains("at") && j["at"].is_string() ? j["at"].get<std::string>() : now;
  signal->detail = "reported by guest init";
  return {};
}

nlohmann::json readiness_to_json(const protocol::Readiness& readiness) { return protocol::to_json(readiness); }

protocol::Readiness readiness_from_json(const nlohmann::json& json) {
  protocol::Readiness r;
  auto read = [&](const char* key, protocol::ReadinessSignal& s) {
    if (!json.is_object() || !json.contains(key) || !json[key].is_object()) return;
    const auto& j = json[key];
    s.ready = j.contains("ready") && j["ready"].is_boolean() && j["ready"].get<bool>();
    if (j.contains("observedAt") && j["observedAt"].is_string()) s.observed_at = j["observedAt"];
    if (j.contains("detail") && j["detail"].is_string()) s.detail = j["detail"];
    if (j.contains("error") && j["error"].is_string()) s.error = j["error"];
  };
  read("guestReady", r.guest_ready);
  read("shellReady", r.shell_ready);
  read("resultReady", r.result_ready);
  read("mediationReady", r.mediation_ready);
  return r;
}

}  // namespace microagent::shim
