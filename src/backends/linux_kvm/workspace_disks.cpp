#include "backends/linux_kvm/workspace_disks.hpp"

#include "backends/linux_kvm/root_overlay.hpp"
#include "backends/linux_kvm/workspace_manifest.hpp"
#include "common/atomic_file.hpp"
#include "common/process.hpp"

namespace microagent::linux_kvm {

using supervisor::RuntimeStore;

namespace {

constexpr const char* kWorkspaceDiskName = "workspace.ext4";
constexpr const char* kWorkspaceDiskSize = "1G";  // sparse
constexpr const char* kRootOverlayName = "rootfs.qcow2";
constexpr const char* kManifestName = "manifest.json";

Result<void> ensure_workspace_disk(const RuntimeStore& store) {
  const auto disk = store.workspace_dir() / kWorkspaceDiskName;
  std::error_code ec;
  if (std::filesystem::exists(disk, ec)) return {};
  if (auto ok = ensure_directory(store.workspace_dir(), 0700); !ok) return ok;
  const auto temp = disk.string() + ".new";
  auto mkfs = run_command({"mke2fs", "-q", "-F", "-t", "ext4", "-L", "workspace", temp, kWorkspaceDiskSize});
  if (!mkfs) return fail(ErrorCode::host_unavailable, "mke2fs is not installed: apt-get install e2fsprogs");
  if (!mkfs->status.success()) return fail(ErrorCode::internal, "mke2fs failed: " + mkfs->err);
  std::filesystem::rename(temp, disk, ec);
  if (ec) return fail_errno("rename workspace disk", ec.value());
  return {};
}

}  // namespace

LaunchDisks started_disks(const RuntimeStore& store, const protocol::WorkspaceConfig& config) {
  LaunchDisks disks;
  if (!config.rootfs_path.empty()) {
    disks.root_overlay = store.workspace_dir() / kRootOverlayName;
  } else {
    disks.workspace_disk = store.workspace_dir() / kWorkspaceDiskName;
  }
  return disks;
}

Result<void> ensure_started_disks(const RuntimeStore& store, const protocol::WorkspaceConfig& config,
                                  const LaunchDisks& disks) {
  std::error_code ec;
  if (disks.root_overlay.empty() && std::filesystem::exists(store.workspace_dir() / kRootOverlayName, ec)) {
    return fail(ErrorCode::conflict, "workspace '" + store.runtime_id() +
                                         "' boots an image (see its manifest): give the same --image again");
  }
  if (!disks.root_overlay.empty()) {
    if (auto ok = ensure_root_overlay(config.rootfs_path, disks.root_overlay, overlay_template_dir(config.state_dir)); !ok) {
      return ok;
    }
  } else if (auto ok = ensure_workspace_disk(store); !ok) {
    return ok;
  }
  ManifestInputs inputs{hash_cache_dir(config.state_dir), config.image,      config.kernel_path, config.initrd_path,
                        config.rootfs_path,                  disks.root_overlay, installed_guestinit(),
                        config.network.port_forwards};
  if (auto ok = write_workspace_manifest(store.workspace_dir() / kManifestName, inputs); !ok) {
    return std::unexpected(ok.error());
  }
  return {};
}

void attach_manifest(protocol::Event& event, const RuntimeStore& store, bool verify) {
  const auto manifest_path = store.workspace_dir() / kManifestName;
  if (verify) {
    auto report = verify_workspace_manifest(manifest_path);
    if (!report) return;
    if (!(*report)["divergences"].empty()) {
      std::string items;
      for (const auto& d : (*report)["divergences"]) items += (items.empty() ? "" : ", ") + d.value("item", "");
      event.detail += (event.detail.empty() ? "" : "; ") + std::string("manifest diverged: ") + items + " changed";
    }
    event.manifest = *report;
  } else if (auto text = read_file(manifest_path)) {
    auto doc = nlohmann::json::parse(*text, nullptr, false);
    if (doc.is_object()) event.manifest = doc;
  }
}

}  // namespace microagent::linux_kvm
