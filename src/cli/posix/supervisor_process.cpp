// Finding and running a supervisor on a POSIX host: access(X_OK), the
// executable's directory, PATH; one request through a pipe (common/process).
#include <signal.h>
#include <unistd.h>

#include <cstdlib>

#include "cli/supervisor_client.hpp"
#include "common/paths.hpp"
#include "common/process.hpp"

namespace microagent::cli {

Result<std::filesystem::path> find_supervisor(const std::string& backend, const std::optional<std::string>& override_path) {
  const std::string program = supervisor_program(backend);
  if (override_path) {
    if (::access(override_path->c_str(), X_OK) != 0) return fail(ErrorCode::not_found, "--supervisor is not executable: " + *override_path);
    return std::filesystem::path(*override_path);
  }
  const std::string env_name = supervisor_env_name(backend);
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
  return parse_supervisor_response(supervisor, output->out, output->status.describe());
}

}  // namespace microagent::cli
