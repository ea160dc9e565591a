// microagent (and microagent.exe): the command line. Parses flags, builds
// requests, runs the backend supervisor as an executable, prints for humans or
// --json. One tree for every host; cli/platform.hpp is what differs.
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/platform.hpp"

int main(int argc, char** argv) {
  microagent::cli::prepare_process();
  microagent::cli::GlobalOptions global;
  global.state_dir = microagent::cli::default_cli_state_dir().string();
  global.backend = microagent::cli::default_backend();

  CLI::App app{"microagent: run untrusted workloads in Linux microVMs"};
  app.require_subcommand(1);
  app.add_option("--state-dir", global.state_dir, "State directory")->capture_default_str();
  app.add_flag("--json", global.json, "Machine-readable output");
  app.add_option("--supervisor", global.supervisor, "Path of the backend supervisor executable");
  app.add_option("--backend", global.backend, "Backend: linux-kvm, wsl2 or windows-hyperv")->capture_default_str();
  app.fallthrough();  // global flags are accepted after the verb too
  microagent::cli::add_run_command(app, global);
  microagent::cli::add_inspect_command(app, global);
  microagent::cli::add_lifecycle_commands(app, global);
  microagent::cli::add_ps_logs_commands(app, global);
  microagent::cli::add_doctor_command(app, global);
  microagent::cli::add_connect_command(app, global);
  microagent::cli::add_platform_commands(app, global);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ValidationError& e) {
    // A value the verb refused (a workspace name, a number out of range): a
    // structured error like every other refusal, JSON with --json.
    return microagent::cli::report_error(global, "invalid_request", e.what());
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : microagent::cli::kExitMicroagentError;
  }
  return global.exit_code;
}
