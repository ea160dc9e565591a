#include "common/paths.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace microagent {

std::filesystem::path microagent_home() {
  if (const char* env = std::getenv("MICROAGENT_HOME"); env && *env) return env;
  if (const char* home = std::getenv("HOME"); home && *home) return std::filesystem::path(home) / ".microagent";
  if (const passwd* pw = getpwuid(getuid()); pw && pw->pw_dir) return std::filesystem::path(pw->pw_dir) / ".microagent";
  return "/var/lib/microagent";
}

std::filesystem::path default_kernel_cache(const std::string& arch) { return microagent_home() / "kernels" / arch; }

std::filesystem::path default_state_dir() { return microagent_home() / "state"; }

std::filesystem::path executable_dir() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return std::filesystem::current_path();
  return self.parent_path();
}

}  // namespace microagent
