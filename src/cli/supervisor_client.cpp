#include "cli/supervisor_client.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "common/paths.hpp"
#include "common/process.hpp"

namespace microagent::cli {

Result<std::filesystem::path> find_supervisor(const std::string& backend, const std::optional<std::string>& override_path) {
  const std::string program = "microagent-" + backend + "-supervisor";
  if (override_path) {
    if (::access(override_path->c_str(), X_OK) != 0) return fail(ErrorCode::not_found, "--supervisor is not executable: " + *override_path);
    return std::filesystem::path(*override_path);
  }
  std::string env_name = "MICROAGENT_" + backend + "_SUPERVISOR";
  std::transform(env_name.begin(), env_name.end(), env_name.begin(),
                 [](unsigned char c) { return c == '-' ? '_' : static_cast<char>(std::toupper(c)); });
  if (const char* env = std::getenv(env_name.c_str()); env && *env) return std::filesystem::path(env);
  const auto sibling = executable_dir() / program;
  if (::access(sibling.c_str(), X_OK) == 0) return sibling;
  if (auto found = find_program(program)) return std::filesystem::path(*found);
  return fail(ErrorCode::not_found, program + " not found beside microagent or on PATH (set --supervisor or " + env_name + ")");
}

Result<nlohmann::json> call_supervisor(const std::filesystem::path& supervisor, const nlohmann::json& request) {
  SpawnOptions options;
  options.stderr_fd = -2;  // the supervisor's diagnostics reach the user's terminal
  // A CLI killed even by SIGKILL takes its request with it: a foreground run's
  // supervisor ends its VM and records why (SIGTERM is its orderly stop).
  options.parent_death_signal = SIGTERM;
  auto output = run_command({supervisor.string()}, request.dump() + "\n", options);
  if (!output) return std::unexpected(output.error());
  auto response = nlohmann::json::parse(output->out, nullptr, false);
  if (response.is_discarded() || !response.is_object() || !response.contains("ok") || !response["ok"].is_boolean()) {
    return fail(ErrorCode::internal, "supervisor " + supervisor.string() + " gave no JSON response (" +
                                         output->status.describe() + ")");
  }
  return response;
}

Error response_error(const nlohmann::json& response) {
  Error error{ErrorCode::internal, "supervisor failed without a message"};
  if (response.contains("error") && response["error"].is_object()) {
    const auto& e = response["error"];
    if (e.contains("code") && e["code"].is_string()) {
      error.code = error_code_from_string(e["code"].get<std::string>()).value_or(ErrorCode::internal);
    }
    if (e.contains("message") && e["message"].is_string()) error.message = e["message"].get<std::string>();
  }
  return error;
}

}  // namespace microagent::cli
