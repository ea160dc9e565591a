#include "cli/disk_flags.hpp"

namespace microagent::cli {
namespace {

// SOURCE:/mount[:mode]; SOURCE may not contain ':' (as with docker -v).
Result<DiskFlag> parse_mount_flag(const std::string& text, const char* flag, const char* shape, bool allow_rw_suffix) {
  auto bad = [&](const std::string& why) {
    return fail(ErrorCode::invalid_request, std::string(flag) + " '" + text + "': " + why + " (expected " + shape + ")");
  };
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const auto colon = text.find(':', start);
    parts.push_back(text.substr(start, colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  if (parts.size() < 2 || parts.size() > 3) return bad("wrong number of ':'-separated fields");
  if (parts[0].empty()) return bad("no source path");
  if (parts[1].empty() || parts[1].front() != '/') return bad("the mount point must be an absolute guest path");
  if (parts[1] == "/") return bad("a disk cannot be mounted at /");
  for (const auto& part : parts) {
    if (part.find('\0') != std::string::npos) return bad("NUL byte");
  }
  DiskFlag flag_value;
  std::error_code ec;
  flag_value.path = std::filesystem::absolute(parts[0], ec).lexically_normal();
  flag_value.mount = std::filesystem::path(parts[1]).lexically_normal().string();
  if (flag_value.mount.size() > 1 && flag_value.mount.back() == '/') flag_value.mount.pop_back();
  if (parts.size() == 3) {
    if (parts[2] == "ro" || (allow_rw_suffix && parts[2] == "rw")) {
      flag_value.mode = parts[2];
    } else {
      return bad("unknown mode '" + parts[2] + "'");
    }
  }
  return flag_value;
}

}  // namespace

Result<DiskFlag> parse_disk_flag(const std::string& text) {
  auto disk = parse_mount_flag(text, "--disk", "PATH:/mount[:ro|rw]", true);
  if (!disk) return disk;
  std::error_code ec;
  const auto status = std::filesystem::status(disk->path, ec);
  if (!std::filesystem::is_regular_file(status) && !std::filesystem::is_block_file(status)) {
    return fail(ErrorCode::not_found, "--disk " + disk->path.string() + ": no such disk image or block device");
  }
  return disk;
}

Result<DiskFlag> parse_volume_flag(const std::string& text) {
  auto volume = parse_mount_flag(text, "--volume", "HOSTDIR:/mount[:ro]", true);
  if (!volume) return volume;
  std::error_code ec;
  if (!std::filesystem::is_directory(volume->path, ec)) {
    return fail(ErrorCode::not_found, "--volume " + volume->path.string() + ": no such directory");
  }
  return volume;
}

}  // namespace microagent::cli
