#include "common/host_root.hpp"

#include <fstream>
#include <sstream>

namespace microagent {

std::filesystem::path HostRoot::path(std::string_view host_path) const {
  while (!host_path.empty() && host_path.front() == '/') host_path.remove_prefix(1);
  return prefix_ / std::filesystem::path(host_path);
}

bool HostRoot::exists(std::string_view host_path) const {
  std::error_code ec;
  return std::filesystem::exists(path(host_path), ec);
}

std::optional<std::string> HostRoot::read_text(std::string_view host_path) const {
  std::ifstream in(path(host_path), std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return text.str();
}

std::optional<std::string> HostRoot::read_line(std::string_view host_path) const {
  auto text = read_text(host_path);
  if (!text) return std::nullopt;
  std::string line = text->substr(0, text->find('\n'));
  const auto first = line.find_first_not_of(" \t\r");
  if (first == std::string::npos) return std::string();
  const auto last = line.find_last_not_of(" \t\r");
  return line.substr(first, last - first + 1);
}

}  // namespace microagent
