// The Windows side of cli/platform.hpp (microagent.exe, windows-hyperv).
#include "backends/windows_hyperv/win32/windows_headers.hpp"

#include "cli/platform.hpp"

#include <fcntl.h>
#include <io.h>

#include <cstdio>

#include "backends/windows_hyperv/win32/windows_paths.hpp"

namespace microagent::cli {

void prepare_process() {
  _setmode(_fileno(stdout), _O_BINARY);
  _setmode(_fileno(stderr), _O_BINARY);
}

std::filesystem::path default_cli_state_dir() { return windows_hyperv::win32::microagent_home() / "state"; }

std::string default_backend() { return "windows-hyperv"; }

// Images, kernels and network views are Linux verbs for now (issue 19).
void add_platform_commands(CLI::App&, GlobalOptions&) {}

std::size_t count_image_and_disk_flags(CLI::App* cmd) {
  return cmd->count("--kernel") + cmd->count("--initrd") + cmd->count("--rootfs") + cmd->count("--user");
}

std::filesystem::path run_scratch_dir(const GlobalOptions&, const RunOptions&, const std::string&) { return {}; }

}  // namespace microagent::cli
