// microagent.exe: the Windows CLI for the windows-hyperv backend. It builds
// protocol requests and runs microagent-windows-hyperv-supervisor.exe as an
// executable (never links backend code in), like the Linux CLI does with its
// supervisors. Exit codes: the workload's own for `run`, 125 when microagent
// itself failed (the message names the fix), else 0/1.
#include "backends/windows_hyperv/win32/windows_headers.hpp"

#include <fcntl.h>
#include <io.h>

#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "backends/windows_hyperv/win32/cli/supervisor_process.hpp"
#include "backends/windows_hyperv/win32/windows_paths.hpp"
#include "backends/windows_hyperv/win32/cli/workspace_verbs.hpp"
#include "common/guest_wire.hpp"

namespace {

using namespace microagent;
using nlohmann::json;

using windows_cli::kMicroagentFailed;

struct Options {
  bool json_output = false;
  std::string state_dir;
  std::optional<std::string> supervisor;
  std::string name = "run";
  std::int64_t memory = 256;
  std::int64_t cpus = 1;
  std::string kernel, initrd, rootfs;
  std::string network = "user";
  std::int64_t timeout = 0;
  std::vector<std::string> command;
};

json workspace_request(const std::string& command, const Options& o) {
  const auto kernel_dir = windows_hyperv::win32::microagent_home() / "kernels" / "x86_64" / "current";
  json config{{"stateDir", o.state_dir},
              {"kernelPath", o.kernel.empty() ? (kernel_dir / "vmlinux").string() : o.kernel},
              {"initrdPath", o.initrd.empty() ? (kernel_dir / "initrd.img").string() : o.initrd},
              {"memoryMiB", o.memory},
              {"cpuCount", o.cpus},
              {"network", {{"mode", o.network}}},
              {"timeoutSeconds", o.timeout}};
  if (!o.rootfs.empty()) config["rootfsPath"] = o.rootfs;
  if (!o.command.empty()) config["command"] = o.command;
  return {{"command", command},
          {"identity", {{"requestID", fmt::format("cli-{}", GetCurrentProcessId())}, {"runtimeID", o.name},
                        {"role", "workload"}, {"backend", "windows-hyperv"}}},
          {"config", config}};
}

int fail_with(const std::string& message) {
  std::cerr << "microagent: " << message << "\n";
  return kMicroagentFailed;
}

// Prints the response for humans (or as is with --json); returns the exit code.
int report(const json& response, bool json_output, bool is_run) {
  if (json_output) std::cout << response.dump() << "\n";
  if (!response.value("ok", false)) {
    const auto& error = response.contains("error") ? response["error"] : json::object();
    if (!json_output) {
      std::cerr << "microagent: " << error.value("message", "the supervisor failed") << " ["
                << error.value("code", "internal") << "]\n";
    }
    return kMicroagentFailed;
  }
  if (response.contains("host")) {
    if (!json_output) std::cout << response["host"].dump(2) << "\n";
    return 0;
  }
  const json& event = response["event"];
  if (!is_run) {
    if (!json_output) std::cout << event.value("state", "") << ": " << event.value("detail", "") << "\n";
    return 0;
  }
  if (!event.contains("result")) {
    if (!json_output) std::cerr << "microagent: " << event.value("detail", "no result") << "\n";
    return kMicroagentFailed;
  }
  auto result = guest_result_from_json(event["result"].dump());
  if (!result) return fail_with("malformed result: " + result.error().message);
  if (!json_output) {
    std::fwrite(result->stdout_data.data(), 1, result->stdout_data.size(), stdout);
    std::fwrite(result->stderr_data.data(), 1, result->stderr_data.size(), stderr);
  }
  if (!result->error.empty()) return 127;
  if (result->signal) return 128 + *result->signal;
  return result->exit_code.value_or(kMicroagentFailed);
}

int call(const Options& o, const json& request, bool is_run) {
  auto response = windows_cli::call_supervisor(windows_cli::find_supervisor(o.supervisor), request);
  if (!response) return fail_with(response.error().message);
  return report(*response, o.json_output, is_run);
}

}  // namespace

int main(int argc, char** argv) {
  _setmode(_fileno(stdout), _O_BINARY);
  _setmode(_fileno(stderr), _O_BINARY);
  Options o;
  o.state_dir = (windows_hyperv::win32::microagent_home() / "state").string();
  CLI::App app{"microagent: run untrusted workloads in Linux microVMs on Hyper-V"};
  app.require_subcommand(1);
  app.add_flag("--json", o.json_output, "print the supervisor's JSON response");
  app.add_option("--state-dir", o.state_dir, "state directory");
  app.add_option("--supervisor", o.supervisor, "path of microagent-windows-hyperv-supervisor.exe");

  auto vm_options = [&](CLI::App* sub) {
    sub->add_option("--memory", o.memory, "guest memory in MiB");
    sub->add_option("--cpus", o.cpus, "guest vCPUs");
    sub->add_option("--kernel", o.kernel, "guest kernel (default: the cached kernel artifact)");
    sub->add_option("--initrd", o.initrd, "guest initramfs");
    sub->add_option("--rootfs", o.rootfs, "root disk: an ext4 image");
    sub->add_option("--network", o.network, "user, nat, isolated or bridged");
  };
  auto* doctor = app.add_subcommand("doctor", "will it run here, and if not, what to fix");
  auto* run = app.add_subcommand("run", "run a command in a fresh microVM");
  vm_options(run);
  run->add_option("--name", o.name, "workspace name");
  run->add_option("--timeout", o.timeout, "seconds before the run is given up");
  run->add_option("command", o.command, "the command (after --)")->required();
  auto* start = app.add_subcommand("start", "start a detached workspace");
  vm_options(start);
  start->add_option("name", o.name, "workspace name")->required();
  std::map<std::string, std::string> lifecycle{{"inspect", "inspect"}, {"halt", "halt"}, {"quarantine", "quarantine"},
                                               {"stop", "stop"},       {"kill", "kill"}, {"rm", "delete"}};
  std::map<CLI::App*, std::string> lifecycle_apps;
  for (const auto& [verb, command] : lifecycle) {
    auto* sub = app.add_subcommand(verb, command + " a workspace");
    sub->add_option("name", o.name, "workspace name")->required();
    lifecycle_apps[sub] = command;
  }
  windows_cli::ConnectVerbOptions connect_options;
  auto* connect = app.add_subcommand("connect", "open a shell in a running workspace, or run one command in it");
  connect->add_option("name", connect_options.name, "workspace name")->required();
  connect->add_option("--send", connect_options.send, "run this shell command (no terminal), exit with its code");
  connect->add_option("command", connect_options.command, "command and arguments (after --; default: a login shell)");
  auto* ps = app.add_subcommand("ps", "list workspaces");
  bool follow = false;
  auto* logs = app.add_subcommand("logs", "print the guest's serial console log");
  logs->add_option("name", o.name, "workspace name")->required();
  logs->add_flag("--follow,-f", follow, "keep printing while the workspace runs");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kMicroagentFailed;
  }

  const windows_cli::CliContext context{o.json_output, o.state_dir, o.supervisor};
  if (connect->parsed()) return windows_cli::run_connect_verb(context, connect_options);
  if (ps->parsed()) return windows_cli::run_ps_verb(context);
  if (logs->parsed()) return windows_cli::run_logs_verb(context, o.name, follow);
  if (doctor->parsed()) return call(o, json{{"command", "host"}, {"stateDir", o.state_dir}}, false);
  if (run->parsed()) return call(o, workspace_request("run", o), true);
  if (start->parsed()) return call(o, workspace_request("start", o), false);
  for (const auto& [sub, command] : lifecycle_apps) {
    if (sub->parsed()) return call(o, workspace_request(command, o), false);
  }
  return fail_with("no command given (try --help)");
}
