#pragma once
// What the CLI does differently per host platform, in one place: everything
// else in src/cli is shared by `microagent` (Linux, WSL2) and `microagent.exe`
// (Windows). Defined in cli/posix/ and in cli/win32/ (the mingw build); each
// build compiles exactly one of them.
#include <cstddef>
#include <filesystem>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"

namespace microagent::cli {

// Process setup before anything is printed: SIGPIPE ignored on POSIX, binary
// stdout/stderr on Windows (a workload's bytes pass through unchanged).
void prepare_process();

// ~/.microagent/state on POSIX, %MICROAGENT_HOME% or %LOCALAPPDATA%\microagent\state on Windows.
std::filesystem::path default_cli_state_dir();
// linux-kvm on POSIX hosts, windows-hyperv on Windows.
std::string default_backend();

// Verbs only this platform has (POSIX: image, kernel, network).
void add_platform_commands(CLI::App& app, GlobalOptions& global);

// How many of add_image_and_disk_flags' flags `cmd` was given.
std::size_t count_image_and_disk_flags(CLI::App* cmd);

// Where a foreground run's copies of its --volume directories live (removed
// when the run ends); empty when it has none.
std::filesystem::path run_scratch_dir(const GlobalOptions& global, const RunOptions& options, const std::string& name);

}  // namespace microagent::cli
