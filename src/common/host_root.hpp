#pragma once
// Every host fact a doctor check reads (/proc, /sys, /dev, /etc, /mnt/c...)
// goes through a HostRoot: "/" in production, a temp dir holding a fake host
// in tests, so each check can be exercised without the machine it describes.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace microagent {

class HostRoot {
 public:
  explicit HostRoot(std::filesystem::path prefix = "/") : prefix_(std::move(prefix)) {}

  const std::filesystem::path& prefix() const { return prefix_; }
  // The real location of a host path: "/proc/meminfo" -> "<prefix>/proc/meminfo".
  std::filesystem::path path(std::string_view host_path) const;
  bool exists(std::string_view host_path) const;
  // Whole file, or nullopt when it cannot be read.
  std::optional<std::string> read_text(std::string_view host_path) const;
  // First line without its newline and surrounding blanks (sysctl files).
  std::optional<std::string> read_line(std::string_view host_path) const;

 private:
  std::filesystem::path prefix_;
};

}  // namespace microagent
