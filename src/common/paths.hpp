#pragma once
#include <filesystem>

namespace microagent {

// The user's microagent directory: $MICROAGENT_HOME, else $HOME/.microagent.
std::filesystem::path microagent_home();
// Guest kernel artifacts: <home>/kernels/<arch>.
std::filesystem::path default_kernel_cache(const std::string& arch = "x86_64");
// Default state dir for the CLI: <home>/state.
std::filesystem::path default_state_dir();
// Directory holding the running executable (to find sibling binaries).
std::filesystem::path executable_dir();

}  // namespace microagent
