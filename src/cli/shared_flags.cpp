// The connect verb's flags and the run/create/start request fields, shared by
// every platform's CLI (cli/posix/, cli/win32/ add what differs).
#include <memory>

#include "cli/commands.hpp"

namespace microagent::cli {

void add_connect_command(CLI::App& app, GlobalOptions& global) {
  auto options = std::make_shared<ConnectOptions>();
  auto* cmd = app.add_subcommand("connect", "Open a shell in a running workspace, or run one command in it");
  add_workspace_name(cmd, options->name);
  cmd->add_option("--send", options->send, "Run this shell command (no terminal), print its output, exit with its code");
  cmd->add_option("--user,-u", options->user,
                  "Run as this user (uid[:gid] or name[:group]); default: the workspace's --user or image User");
  cmd->add_option("command", options->command, "Command and arguments (after --; default: a login shell)");
  cmd->callback([&global, options] { global.exit_code = run_connect(global, *options); });
}

WorkspaceRequestInput shared_request_input(const GlobalOptions& global, const RunOptions& options, const std::string& name) {
  WorkspaceRequestInput input;
  input.state_dir = global.state_dir;
  input.name = name;
  input.backend = global.backend;
  input.memory_mib = options.memory_mib;
  input.cpus = options.cpus;
  input.env = options.env;
  input.workdir = options.workdir;
  input.timeout_seconds = options.timeout_seconds;
  input.output_limit = options.output_limit;
  input.command = options.command;
  input.user = options.user;
  return input;
}

}  // namespace microagent::cli
