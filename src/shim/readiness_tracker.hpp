#pragma once
// Guest readiness as the shim learns it: guest init sends one JSON line per
// event on the control port ({"event":"guestReady","at":...}); result.json
// makes resultReady true. A running VM alone is not guest readiness.
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "protocol/types.hpp"

namespace microagent::shim {

// Applies one control-port line to `readiness`; invalid_request for unknown input.
Result<void> apply_readiness_line(const std::string& line, protocol::Readiness& readiness, const std::string& now);

nlohmann::json readiness_to_json(const protocol::Readiness& readiness);
protocol::Readiness readiness_from_json(const nlohmann::json& json);

}  // namespace microagent::shim
