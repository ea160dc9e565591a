#pragma once
// The workload's environment and the executable candidates for argv[0]: pure
// functions, computed before fork so the child only calls async-signal-safe code.
#include <map>
#include <string>
#include <vector>

namespace microagent::guestinit {

inline constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// HOME=/root, PATH=kDefaultPath and TERM=linux, each overridden by the config's
// env; nothing is inherited from init. Sorted "KEY=value" strings.
std::vector<std::string> build_workload_env(const std::map<std::string, std::string>& config_env);

// What execvpe would try, in order: argv[0] itself when it has a '/', else
// <dir>/argv[0] for each PATH entry (an empty entry means the current directory).
std::vector<std::string> executable_candidates(const std::string& command, const std::string& path);

// PATH's value in a "KEY=value" list, or kDefaultPath.
std::string path_from_env(const std::vector<std::string>& env);

}  // namespace microagent::guestinit
