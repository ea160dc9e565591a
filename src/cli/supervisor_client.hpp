#pragma once
// The CLI talks to supervisors only as executables: one JSON request on
// stdin, one JSON response on stdout (DESIGN.md section 1).
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace microagent::cli {

// `--supervisor` if given, else $MICROAGENT_<BACKEND>_SUPERVISOR, else
// microagent-<backend>-supervisor beside the microagent executable, else on PATH.
Result<std::filesystem::path> find_supervisor(const std::string& backend, const std::optional<std::string>& override_path);

// Runs the supervisor with `request`; returns its parsed response (ok or not).
// Fails only when the supervisor cannot be run or answers with something that is not JSON.
Result<nlohmann::json> call_supervisor(const std::filesystem::path& supervisor, const nlohmann::json& request);

// An ok:false response as an Error (code from the response).
Error response_error(const nlohmann::json& response);

}  // namespace microagent::cli
