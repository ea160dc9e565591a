#pragma once
// `--disk PATH:/mount[:ro|rw]` (attach an existing raw ext4 image or block
// device) and `--volume HOSTDIR:/mount[:ro]` (an ext4 image built from a host
// directory when the workspace is prepared: a copy, so guest writes never reach
// the host directory). Pure parsing here; volume_disks builds the images.
#include <filesystem>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace microagent::cli {

struct DiskFlag {
  std::filesystem::path path;  // absolute
  std::string mount;           // absolute guest path
  std::string mode = "rw";     // "ro" | "rw"
};

// invalid_request naming the flag and the expected shape.
Result<DiskFlag> parse_disk_flag(const std::string& text);
Result<DiskFlag> parse_volume_flag(const std::string& text);

}  // namespace microagent::cli
