#include "cli/workspace_request.hpp"

#include <chrono>

#include <fmt/core.h>

#include "protocol/json_codec.hpp"

namespace microagent::cli {

Result<nlohmann::json> build_workspace_request(const std::string& command, const WorkspaceRequestInput& input) {
  if (auto ok = protocol::validate_runtime_id(input.name); !ok) {
    return fail(ErrorCode::invalid_request, "--name '" + input.name + "': " + ok.error().message);
  }
  nlohmann::json env = nlohmann::json::object();
  for (const auto& entry : input.env) {
    const auto eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) {
      return fail(ErrorCode::invalid_request, "--env '" + entry + "' must look like NAME=VALUE");
    }
    env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  nlohmann::json disks = nlohmann::json::array();
  for (const auto& disk : input.disks) {
    disks.push_back({{"path", disk.path.string()}, {"mode", disk.mode}, {"mount", disk.mount}});
  }
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  nlohmann::json request{
      {"command", command},
      {"identity",
       {{"requestID", fmt::format("req-{}", std::chrono::duration_cast<std::chrono::microseconds>(now).count())},
        {"runtimeID", input.name},
        {"role", "workload"},
        {"backend", input.backend}}},
      {"config",
       {{"stateDir", std::filesystem::absolute(input.state_dir).lexically_normal().string()},
        {"kernelPath", input.kernel.string()},
        {"initrdPath", input.initrd.string()},
        {"memoryMiB", input.memory_mib},
        {"cpuCount", input.cpus},
        {"command", input.command},
        {"env", env},
        {"workdir", input.workdir.empty() ? std::string("/") : input.workdir},
        {"rootfsPath", input.rootfs.string()},
        {"user", input.user},
        {"disks", disks},
        {"outputLimit", input.output_limit},
        {"timeoutSeconds", input.timeout_seconds},
        {"network", {{"mode", "user"}}},
        {"result", {{"port", 1024}}}}}};
  if (!input.image_digest.empty()) {
    request["config"]["image"] = {{"reference", input.image_reference}, {"digest", input.image_digest}};
  }
  return request;
}

}  // namespace microagent::cli
