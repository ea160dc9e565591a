// `microagent run`: boot a guest on the default image, run one command, print
// its stdout/stderr on the matching host streams, exit with its exit code.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <random>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/platform.hpp"
#include "cli/platform_routing.hpp"
#include "cli/supervisor_client.hpp"
#include "common/base64.hpp"
#include "protocol/json_codec.hpp"

namespace microagent::cli {
namespace {

using nlohmann::json;

std::string generated_name() {
  std::random_device rd;
  return fmt::format("run-{:x}-{:04x}", std::chrono::duration_cast<std::chrono::seconds>(
                                            std::chrono::system_clock::now().time_since_epoch()).count(),
                     rd() & 0xffff);
}

void write_all(std::FILE* stream, const std::string& bytes) {
  std::fwrite(bytes.data(), 1, bytes.size(), stream);
  std::fflush(stream);
}

// Result fields may be null (an absent signal, no error): read them leniently.
std::string text_field(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool flag_field(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

std::uint64_t count_field(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

// The workload's exit code becomes ours; a signal maps to 128+N like a shell.
int workload_exit_code(const json& result) {
  if (result.contains("exitCode") && result["exitCode"].is_number_integer()) return result["exitCode"].get<int>();
  if (result.contains("signal") && result["signal"].is_number_integer()) return 128 + result["signal"].get<int>();
  return kExitMicroagentError;
}

int print_result(const GlobalOptions& global, const json& event) {
  if (!event.contains("result") || !event["result"].is_object()) {
    return report_error(global, "internal", "the guest delivered no result: " + text_field(event, "detail"));
  }
  const json& result = event["result"];
  if (global.json) {
    std::cout << event.dump(2) << std::endl;
    return workload_exit_code(result);
  }
  auto decode = [&](const char* key) {
    auto bytes = base64_decode(text_field(result, key));
    return bytes ? *bytes : std::string();
  };
  std::cout.flush();
  write_all(stdout, decode("stdout"));
  write_all(stderr, decode("stderr"));
  if (flag_field(result, "stdoutTruncated") || flag_field(result, "stderrTruncated")) {
    std::cerr << fmt::format("microagent: output truncated (the workload wrote {} bytes to stdout, {} to stderr)",
                             count_field(result, "stdoutBytes"), count_field(result, "stderrBytes"))
              << std::endl;
  }
  const std::string error = text_field(result, "error");
  if (!error.empty()) std::cerr << "microagent: " << error << std::endl;
  return workload_exit_code(result);
}

int run(GlobalOptions& global, const RunOptions& options) {
  // Before any image is built or supervisor run: the backend must suit this host.
  if (auto routed = check_backend_here(global.backend); !routed) {
    return report_error(global, std::string(to_string(routed.error().code)), routed.error().message);
  }
  auto supervisor = find_supervisor(global.backend, global.supervisor);
  if (!supervisor) return report_error(global, std::string(to_string(supervisor.error().code)), supervisor.error().message);

  if (options.command.empty() && options.image.empty()) {
    return report_error(global, "invalid_request", "nothing to run: give a command after -- (or an --image with a Cmd)");
  }
  const std::string name = options.name.empty() ? generated_name() : options.name;
  // The run's volume copies go with it, whatever the outcome.
  struct VolumeCleanup {
    std::filesystem::path dir;
    ~VolumeCleanup() {
      std::error_code ignored;
      if (!dir.empty()) std::filesystem::remove_all(dir, ignored);
    }
  } volume_cleanup{run_scratch_dir(global, options, name)};
  auto request = request_from_options(protocol::Command::run, global, options, name);
  if (!request) return report_error(global, std::string(to_string(request.error().code)), request.error().message);
  auto response = call_supervisor(*supervisor, protocol::to_json(*request));
  if (!response) return report_error(global, std::string(to_string(response.error().code)), response.error().message);
  if (!response->value("ok", false)) {
    const Error error = response_error(*response);
    if (global.json) {
      std::cout << response->dump(2) << std::endl;
      return kExitMicroagentError;
    }
    return report_error(global, std::string(to_string(error.code)), error.message);
  }
  return print_result(global, (*response)["event"]);
}

}  // namespace

void add_run_command(CLI::App& app, GlobalOptions& global) {
  auto options = std::make_shared<RunOptions>();
  auto* cmd = app.add_subcommand("run", "Boot a microVM, run a command in it, print its output, exit with its code");
  cmd->add_option("--name", options->name, "Workspace name (default: generated)")->check(workspace_name_validator());
  cmd->add_option("--memory", options->memory_mib, "Guest memory in MiB")->capture_default_str();
  cmd->add_option("--cpus", options->cpus, "Guest vCPUs")->capture_default_str();
  cmd->add_option("--env,-e", options->env, "Environment variable K=V (repeatable)");
  cmd->add_option("--workdir,-w", options->workdir, "Working directory in the guest (default: the image's, else /)");
  add_image_and_disk_flags(cmd, *options);
  add_network_flags(cmd, options->network);
  cmd->add_option("--timeout", options->timeout_seconds, "Stop the VM after this many seconds (0: no limit)");
  cmd->add_option("--output-limit", options->output_limit, "Bytes of stdout and of stderr kept, each")->capture_default_str();
  cmd->add_option("command", options->command, "Command and arguments (after --); with --image, default: its Entrypoint and Cmd");
  cmd->positionals_at_end();
  cmd->callback([&global, options] { global.exit_code = run(global, *options); });
}

}  // namespace microagent::cli
