// Workspace lifecycle verbs: create, start, halt, stop, kill, quarantine,
// delete/rm, console, wait. Each is one supervisor request (DESIGN.md section 2).
#include <iostream>
#include <thread>

#include "cli/commands.hpp"
#include "cli/platform.hpp"
#include "cli/platform_routing.hpp"
#include "cli/workspace_client.hpp"
#include "protocol/runtime_id.hpp"
#include "supervisor/runtime_store.hpp"

namespace microagent::cli {
namespace {

using nlohmann::json;

// The workspace config for create/start: from flags, or the one stored at create time.
Result<protocol::WorkspaceConfig> workspace_config(const GlobalOptions& global, const std::string& name,
                                                   const RunOptions& options, bool flags_given) {
  // A backend this host cannot serve fails before any initramfs is built.
  if (auto routed = check_backend_here(global.backend); !routed) return std::unexpected(routed.error());
  auto id = protocol::RuntimeId::parse(name);
  if (!id) return fail(ErrorCode::invalid_request, id.error().message);
  const supervisor::RuntimeStore store(absolute_state_dir(global), std::move(*id));
  if (!flags_given) {
    if (auto stored = store.read_config(); stored && *stored) {
      (*stored)->state_dir = absolute_state_dir(global);
      return std::move(**stored);
    }
  }
  auto request = request_from_options(protocol::Command::start, global, options, name);
  if (!request) return std::unexpected(request.error());
  return std::move(*request->config);
}

void add_config_flags(CLI::App* cmd, RunOptions& options) {
  cmd->add_option("--memory", options.memory_mib, "Guest memory in MiB")->capture_default_str();
  cmd->add_option("--cpus", options.cpus, "Guest vCPUs")->capture_default_str();
  cmd->add_option("--env,-e", options.env, "Environment variable K=V (repeatable)");
  cmd->add_option("--workdir,-w", options.workdir, "Working directory in the guest (default: the image's, else /)");
  add_image_and_disk_flags(cmd, options);
  add_network_flags(cmd, options.network);
  cmd->add_option("command", options.command, "Workload command (after --); none: the workspace just serves connect");
}

// create / start: build the config, send one request, print the event.
void add_config_verb(CLI::App& app, GlobalOptions& global, const std::string& verb, protocol::Command protocol_command,
                     const std::string& help) {
  auto name = std::make_shared<std::string>();
  auto options = std::make_shared<RunOptions>();
  auto* cmd = app.add_subcommand(verb, help);
  add_workspace_name(cmd, *name);
  add_config_flags(cmd, *options);
  cmd->callback([&global, name, options, cmd, protocol_command] {
    const bool flags_given = cmd->count("--memory") + cmd->count("--cpus") + cmd->count("--env") +
                                 cmd->count("--workdir") + cmd->count("command") + count_network_flags(cmd) +
                                 count_image_and_disk_flags(cmd) > 0;
    auto config = workspace_config(global, *name, *options, flags_given);
    if (!config) {
      global.exit_code = report(global, config.error());
      return;
    }
    auto event = workspace_request(global, protocol_command, *name, *config);
    if (!event) {
      global.exit_code = report(global, event.error());
      return;
    }
    print_event(global, *event);
    global.exit_code = 0;
  });
}

// Verbs that need only the name.
CLI::App* add_name_verb(CLI::App& app, GlobalOptions& global, const std::string& verb, protocol::Command protocol_command,
                        const std::string& help,
                        std::shared_ptr<protocol::RequestOptions> extra = std::make_shared<protocol::RequestOptions>()) {
  auto name = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(verb, help);
  add_workspace_name(cmd, *name);
  cmd->callback([&global, name, protocol_command, extra] {
    auto event = workspace_request(global, protocol_command, *name, std::nullopt, *extra);
    if (!event) {
      global.exit_code = report(global, event.error());
      return;
    }
    print_event(global, *event);
    global.exit_code = 0;
  });
  return cmd;
}

bool is_active(const json& event) {
  const std::string state = event.value("state", std::string());
  return state == "starting" || state == "running" || state == "stopping";
}

}  // namespace

void add_lifecycle_commands(CLI::App& app, GlobalOptions& global) {
  add_config_verb(app, global, "create", protocol::Command::prepare, "Create a workspace (disk, config) without starting it");
  add_config_verb(app, global, "start", protocol::Command::start, "Start a workspace in the background (creates it if needed)");
  auto halt_extra = std::make_shared<protocol::RequestOptions>();
  auto* halt = add_name_verb(app, global, "halt", protocol::Command::halt, "Shut the guest down cleanly; disk and identity are kept", halt_extra);
  halt->add_option_function<unsigned>(
          "--grace", [halt_extra](const unsigned& seconds) { halt_extra->grace_seconds = seconds; },
          "Seconds the guest's processes get between SIGTERM and SIGKILL (default 2, at most 600)")
      ->check(CLI::Range(0u, 600u));
  add_name_verb(app, global, "stop", protocol::Command::stop, "Terminate the VM");
  add_name_verb(app, global, "kill", protocol::Command::kill, "Kill the VM at once");
  auto* rm = add_name_verb(app, global, "delete", protocol::Command::remove, "Remove a stopped workspace and every trace of it");
  rm->alias("rm");

  auto quarantine_extra = std::make_shared<protocol::RequestOptions>();
  auto* quarantine = add_name_verb(app, global, "quarantine", protocol::Command::quarantine,
                                   "Capture evidence, sever every host-side channel, stop the VM", quarantine_extra);
  quarantine->add_flag_callback("--no-capture", [quarantine_extra] { quarantine_extra->no_capture = true; },
                                "Skip the evidence capture");

  auto console_name = std::make_shared<std::string>();
  auto console_input = std::make_shared<std::string>();
  auto* console = app.add_subcommand("console", "Send text to the guest's serial console");
  add_workspace_name(console, *console_name);
  console->add_option("input", *console_input, "Text to send (a newline is added)")->required();
  console->callback([&global, console_name, console_input] {
    protocol::RequestOptions options;
    options.console_input = *console_input + "\n";
    auto event = workspace_request(global, protocol::Command::console, *console_name, std::nullopt, options);
    global.exit_code = event ? (print_event(global, *event), 0) : report(global, event.error());
  });

  auto wait_name = std::make_shared<std::string>();
  auto wait_timeout = std::make_shared<double>(0);
  auto* wait = app.add_subcommand("wait", "Wait until a workspace is no longer running; exit with its workload's code");
  add_workspace_name(wait, *wait_name);
  wait->add_option("--timeout", *wait_timeout, "Give up after this many seconds (0: never)");
  wait->callback([&global, wait_name, wait_timeout] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(*wait_timeout);
    for (;;) {
      auto event = workspace_request(global, protocol::Command::inspect, *wait_name);
      if (!event) {
        global.exit_code = report(global, event.error());
        return;
      }
      if (!is_active(*event)) {
        print_event(global, *event);
        const auto& result = (*event).contains("result") ? (*event)["result"] : json();
        global.exit_code = result.is_object() && result.contains("exitCode") && result["exitCode"].is_number_integer()
                               ? result["exitCode"].get<int>()
                               : ((*event)["state"] == "failed" ? 1 : 0);
        return;
      }
      if (*wait_timeout > 0 && std::chrono::steady_clock::now() >= deadline) {
        global.exit_code = report_error(global, "conflict", "timed out waiting for '" + *wait_name + "'");
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  });
}

}  // namespace microagent::cli
