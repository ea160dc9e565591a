#include "image/debugfs_script.hpp"

namespace microagent::image {

std::optional<std::string> debugfs_quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '\n' || c == '\r' || c == '\0') return std::nullopt;
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  if (out.size() > kMaxDebugfsArgument) return std::nullopt;
  return out;
}

std::optional<std::string> debugfs_path(std::string_view relative) {
  if (!debugfs_path_problem(relative).empty()) return std::nullopt;
  return debugfs_quote("/" + std::string(relative));
}

std::string debugfs_path_problem(std::string_view relative) {
  if (relative.empty() || relative.front() == '/') return "not a rootfs-relative path";
  std::size_t start = 0;
  while (start <= relative.size()) {
    std::size_t end = relative.find('/', start);
    if (end == std::string_view::npos) end = relative.size();
    const std::string_view part = relative.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return "not a normalized path";
    start = end + 1;
  }
  if (relative.find_first_of(std::string_view("\n\r\0", 3)) != std::string_view::npos) {
    return "its name holds a newline or carriage return, which a debugfs script cannot carry";
  }
  if (!debugfs_quote("/" + std::string(relative))) return "its name is too long for a debugfs script line";
  return {};
}

}  // namespace microagent::image
