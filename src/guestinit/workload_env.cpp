#include "guestinit/workload_env.hpp"

#include <string_view>

namespace microagent::guestinit {

std::vector<std::string> build_workload_env(const std::map<std::string, std::string>& config_env) {
  std::map<std::string, std::string> env = {{"HOME", "/root"}, {"PATH", kDefaultPath}, {"TERM", "linux"}};
  for (const auto& [key, value] : config_env) env[key] = value;
  std::vector<std::string> entries;
  entries.reserve(env.size());
  for (const auto& [key, value] : env) entries.push_back(key + "=" + value);
  return entries;
}

std::vector<std::string> executable_candidates(const std::string& command, const std::string& path) {
  if (command.find('/') != std::string::npos) return {command};
  std::vector<std::string> candidates;
  std::size_t start = 0;
  while (true) {
    const auto end = path.find(':', start);
    const std::string_view dir = std::string_view(path).substr(start, end == std::string::npos ? std::string::npos : end - start);
    candidates.push_back(std::string(dir.empty() ? std::string_view(".") : dir) + "/" + command);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return candidates;
}

std::string path_from_env(const std::vector<std::string>& env) {
  for (const auto& entry : env) {
    if (entry.starts_with("PATH=")) return entry.substr(5);
  }
  return kDefaultPath;
}

}  // namespace microagent::guestinit
