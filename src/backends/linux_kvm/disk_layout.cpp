#include "backends/linux_kvm/disk_layout.hpp"

#include <fmt/core.h>

namespace microagent::linux_kvm {

inline constexpr const char* kWorkspaceMountPoint = "/workspace";

std::string virtio_block_device(std::size_t index) { return "/dev/vd" + std::string(1, static_cast<char>('a' + index)); }

Result<DiskAttachment> lay_out_disks(const WorkspaceDisks& disks) {
  DiskAttachment out;
  const std::size_t total = (disks.root ? 1 : 0) + (disks.workspace ? 1 : 0) + disks.data.size();
  if (total > kMaxDisks) {
    return fail(ErrorCode::invalid_request, fmt::format("{} disks requested; at most {} fit a microVM", total, kMaxDisks));
  }
  if (disks.root) {
    out.root_device = virtio_block_device(out.drives.size());
    out.drives.push_back(*disks.root);
  }
  if (disks.workspace) {
    out.mounts.push_back({virtio_block_device(out.drives.size()), kWorkspaceMountPoint, false});
    out.drives.push_back(*disks.workspace);
  }
  for (const auto& disk : disks.data) {
    if (disk.mount == "/") return fail(ErrorCode::invalid_request, "a data disk cannot be mounted at / (use an image)");
    const bool read_only = disk.mode == "ro";
    out.mounts.push_back({virtio_block_device(out.drives.size()), disk.mount, read_only});
    out.drives.push_back({disk.path, "raw", read_only});
  }
  return out;
}

}  // namespace microagent::linux_kvm
