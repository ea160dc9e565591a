#include "cli/workspace_request.hpp"

#include <chrono>

#include <fmt/core.h>

#include "protocol/runtime_id.hpp"

namespace microagent::cli {

protocol::Request make_request(protocol::Command command, const std::string& name, const std::string& backend,
                               protocol::WorkspaceConfig config, protocol::RequestOptions options) {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  protocol::Request request;
  request.command = command;
  request.identity = protocol::Identity{
      fmt::format("req-{}", std::chrono::duration_cast<std::chrono::microseconds>(now).count()), name, "workload",
      backend};
  request.config = std::move(config);
  request.options = std::move(options);
  return request;
}

Result<protocol::Request> build_workspace_request(protocol::Command command, const WorkspaceRequestInput& input) {
  if (auto ok = protocol::validate_runtime_id(input.name); !ok) {
    return fail(ErrorCode::invalid_request, "--name '" + input.name + "': " + ok.error().message);
  }
  protocol::WorkspaceConfig config;
  for (const auto& entry : input.env) {
    const auto eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) {
      return fail(ErrorCode::invalid_request, "--env '" + entry + "' must look like NAME=VALUE");
    }
    config.env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& disk : input.disks) config.disks.push_back({disk.path.string(), disk.mode, disk.mount});
  config.state_dir = std::filesystem::absolute(input.state_dir).lexically_normal().string();
  config.kernel_path = input.kernel.string();
  config.initrd_path = input.initrd.string();
  config.rootfs_path = input.rootfs.string();
  config.memory_mib = input.memory_mib;
  config.cpu_count = input.cpus;
  config.command = input.command;
  config.workdir = input.workdir.empty() ? std::string("/") : input.workdir;
  config.user = input.user;
  config.output_limit = input.output_limit;
  config.timeout_seconds = input.timeout_seconds;
  if (!input.image_digest.empty()) config.image = protocol::ImageRef{input.image_reference, input.image_digest};
  return make_request(command, input.name, input.backend, std::move(config));
}

}  // namespace microagent::cli
