#pragma once
// Each CLI verb: options filled by CLI11, then one function that runs it and
// returns the process exit code. Errors are printed here, at the edge.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/network_flags.hpp"
#include "cli/workspace_request.hpp"
#include "common/error.hpp"
#include "protocol/types.hpp"

namespace microagent::cli {

struct GlobalOptions {
  std::string state_dir;  // default: ~/.microagent/state
  bool json = false;
  std::optional<std::string> supervisor;
  std::string backend = "linux-kvm";
  int exit_code = 0;  // set by the verb that ran
};

// Exit codes of our own (like docker's): the workload's code passes through otherwise.
inline constexpr int kExitMicroagentError = 125;

struct RunOptions {
  std::string name;
  std::int64_t memory_mib = 256;
  std::int64_t cpus = 1;
  std::vector<std::string> env;
  std::string workdir;  // empty: the image's WorkingDir, else /
  std::int64_t timeout_seconds = 0;
  std::uint64_t output_limit = 1024 * 1024;
  std::vector<std::string> command;
  std::string image;  // empty: the embedded default image (initramfs only)
  std::optional<std::string> entrypoint;
  std::string user;
  std::vector<std::string> disks;    // --disk PATH:/mount[:ro|rw]
  std::vector<std::string> volumes;  // --volume HOSTDIR:/mount[:ro]
  std::string kernel, initrd, rootfs;  // windows-hyperv: --kernel, --initrd, --rootfs (default: the cached kernel)
  NetworkFlags network;              // --network, --publish, --mediation (cli/network_flags.hpp)
};

// What the guest boots, on run, create and start: --image, --entrypoint,
// --user, --disk and --volume on POSIX; --kernel, --initrd, --rootfs, --user on Windows.
void add_image_and_disk_flags(CLI::App* cmd, RunOptions& options);

// A supervisor request for `command` on workspace `name` from run/create/start
// flags. POSIX: the kernel artifact and cached initramfs, plus the image's root
// disk (built once per image) and the volumes' disks (built here, at prepare
// time). Windows: the kernel, initrd and root disk the flags name.
Result<protocol::Request> request_from_options(protocol::Command command, const GlobalOptions& global,
                                               const RunOptions& options, const std::string& name);

// The positional workspace NAME of a verb, checked as a runtime ID while the
// command line is parsed: a name that could leave the state dir ("../x",
// "/etc", 300 characters) never reaches a path join (exit 125, invalid_request).
CLI::Option* add_workspace_name(CLI::App* cmd, std::string& name);
// A CLI11 validator for --name options: the same check.
CLI::Validator workspace_name_validator();

// `connect NAME [--send CMD] [--user U] [-- CMD...]`: the same flags on every
// platform (add_connect_command, cli/shared_flags.cpp); the session is the
// platform's: run_connect in cli/posix/connect_command.cpp (hybrid vsock) or
// cli/win32/connect_command.cpp (Hyper-V socket). Returns the exit code.
struct ConnectOptions {
  std::string name;
  std::optional<std::string> send;
  std::string user;
  std::vector<std::string> command;
};
int run_connect(const GlobalOptions& global, const ConnectOptions& options);

// The request fields every platform fills from run/create/start flags alike
// (what the guest boots is the platform's: request_from_options).
WorkspaceRequestInput shared_request_input(const GlobalOptions& global, const RunOptions& options, const std::string& name);

// Shared verbs (cli/*.cpp, every platform).
void add_run_command(CLI::App& app, GlobalOptions& global);
void add_inspect_command(CLI::App& app, GlobalOptions& global);
void add_lifecycle_commands(CLI::App& app, GlobalOptions& global);
void add_ps_logs_commands(CLI::App& app, GlobalOptions& global);
void add_doctor_command(CLI::App& app, GlobalOptions& global);
void add_connect_command(CLI::App& app, GlobalOptions& global);
// POSIX only (cli/posix/).
void add_kernel_command(CLI::App& app, GlobalOptions& global);
void add_network_command(CLI::App& app, GlobalOptions& global);
void add_image_command(CLI::App& app, GlobalOptions& global);

// Prints an error for humans (or as JSON with --json) and returns kExitMicroagentError.
int report_error(const GlobalOptions& global, const std::string& code, const std::string& message);
// The same for an Error: its code and message.
int report(const GlobalOptions& global, const Error& error);

}  // namespace microagent::cli
