#include "backends/windows_hyperv/workspace_disks.hpp"

#include <fmt/core.h>

#include "backends/windows_hyperv/hv_constants.hpp"
#include "image/vhd/vhd_writer.hpp"

namespace microagent::windows_hyperv {

namespace {

Result<void> require_source(const std::string& path, const std::string& field) {
  if (path.empty()) return fail(ErrorCode::invalid_request, field + " must name an ext4 image file");
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return fail(ErrorCode::not_found, field + " does not exist or is not a file: " + path);
  }
  return {};
}

Result<void> ensure_vhd(const std::filesystem::path& source, const std::filesystem::path& vhd) {
  std::error_code ec;
  if (std::filesystem::exists(vhd, ec)) return {};
  return image::write_fixed_vhd(source, vhd);
}

}  // namespace

std::string scsi_device_name(std::size_t lun) {
  std::string suffix;
  std::size_t n = lun + 1;  // bijective base 26: a..z, aa..
  while (n > 0) {
    --n;
    suffix.insert(suffix.begin(), static_cast<char>('a' + n % 26));
    n /= 26;
  }
  return "/dev/sd" + suffix;
}

Result<void> validate_disk_config(const protocol::WorkspaceConfig& config) {
  if (!config.rootfs_path.empty()) {
    if (auto ok = require_source(config.rootfs_path, "config.rootfsPath"); !ok) return ok;
  }
  for (std::size_t i = 0; i < config.disks.size(); ++i) {
    const auto& disk = config.disks[i];
    const std::string field = fmt::format("config.disks[{}]", i);
    if (disk.mode != "ro" && disk.mode != "rw") {
      return fail(ErrorCode::invalid_request, field + ".mode must be \"ro\" or \"rw\", not \"" + disk.mode + "\"");
    }
    if (disk.mount.empty() || disk.mount.front() != '/') {
      return fail(ErrorCode::invalid_request, field + ".mount must be an absolute guest path such as /data");
    }
    if (auto ok = require_source(disk.path, field + ".path"); !ok) return ok;
  }
  return {};
}

Result<WorkspaceDisks> ensure_workspace_disks(const protocol::WorkspaceConfig& config,
                                              const std::filesystem::path& workspace_dir) {
  if (auto ok = validate_disk_config(config); !ok) return std::unexpected(ok.error());
  std::error_code ec;
  std::filesystem::create_directories(workspace_dir, ec);
  if (ec) return fail(ErrorCode::internal, "create " + workspace_dir.string() + ": " + ec.message());

  WorkspaceDisks disks;
  if (!config.rootfs_path.empty()) {
    const auto vhd = workspace_dir / kRootDiskName;
    if (auto ok = ensure_vhd(config.rootfs_path, vhd); !ok) return std::unexpected(ok.error());
    disks.root_device = scsi_device_name(disks.scsi.size());
    disks.scsi.push_back(ScsiDisk{vhd.string(), false});
  }
  for (std::size_t i = 0; i < config.disks.size(); ++i) {
    const auto& disk = config.disks[i];
    const auto vhd = workspace_dir / fmt::format("disk-{}.vhd", i);
    if (auto ok = ensure_vhd(disk.path, vhd); !ok) return std::unexpected(ok.error());
    const bool read_only = disk.mode == "ro";
    disks.guest_disks.push_back(GuestDisk{scsi_device_name(disks.scsi.size()), disk.mount, read_only});
    disks.scsi.push_back(ScsiDisk{vhd.string(), read_only});
  }
  return disks;
}

}  // namespace microagent::windows_hyperv
