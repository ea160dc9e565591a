#pragma once
// The CLI talks to supervisors only as executables: one JSON request on
// stdin, one JSON response on stdout (DESIGN.md section 1). Finding and running
// one is per platform (cli/posix/supervisor_process.cpp, cli/win32/...).
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace microagent::cli {

// `--supervisor` if given, else $MICROAGENT_<BACKEND>_SUPERVISOR, else
// microagent-<backend>-supervisor beside the microagent executable, else (POSIX) on PATH.
Result<std::filesystem::path> find_supervisor(const std::string& backend, const std::optional<std::string>& override_path);

// Runs the supervisor with `request`; returns its parsed response (ok or not).
// Fails only when the supervisor cannot be run or answers with something that is not JSON.
Result<nlohmann::json> call_supervisor(const std::filesystem::path& supervisor, const nlohmann::json& request);

// Portable pieces of the above.
std::string supervisor_program(const std::string& backend);   // microagent-<backend>-supervisor
std::string supervisor_env_name(const std::string& backend);  // MICROAGENT_<BACKEND>_SUPERVISOR
// The supervisor's stdout as a response: an object with a boolean "ok", else internal.
Result<nlohmann::json> parse_supervisor_response(const std::filesystem::path& supervisor, const std::string& out,
                                                 const std::string& how_it_ended);

// An ok:false response as an Error (code from the response).
Error response_error(const nlohmann::json& response);

}  // namespace microagent::cli
