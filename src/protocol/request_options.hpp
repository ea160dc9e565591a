#pragma once
// A request's per-command fields (types.hpp RequestOptions) from its JSON:
// "verify", "input", options.noCapture, options.graceSeconds (0..600); the host
// request's "stateDir" (doctor) is host_state_dir_from_json.
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "protocol/types.hpp"

namespace microagent::protocol {

// invalid_request naming the field when one has the wrong type or range.
Result<RequestOptions> options_from_json(const nlohmann::json& request);

// A host (doctor) request's top-level "stateDir": absent or null, else an
// absolute path (invalid_request otherwise).
Result<std::optional<std::string>> host_state_dir_from_json(const nlohmann::json& request);

}  // namespace microagent::protocol
