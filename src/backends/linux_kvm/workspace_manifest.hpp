#pragma once
// <state>/workspaces/<id>/manifest.json: what a workspace boots, each file with
// its SHA-256 (issue 4): image reference and digest, kernel, initrd, the root
// disk's base and overlay, and guest init. Written at prepare and start;
// `status` recomputes every hash and reports what diverged.
#include <filesystem>
#include <optional>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "protocol/types.hpp"

namespace microagent::linux_kvm {

struct ManifestInputs {
  // Hashes recorded at prepare/start come from here when the file's identity
  // (device, inode, size, mtime, ctime) is unchanged, as git's index does, so
  // creating a workspace from a large base stays O(1); `status` always rehashes.
  std::filesystem::path hash_cache;
  std::optional<protocol::ImageRef> image;
  std::filesystem::path kernel;
  std::filesystem::path initrd;
  std::filesystem::path rootfs_base;     // empty: the default image (initramfs only)
  std::filesystem::path rootfs_overlay;  // the workspace's copy-on-write root disk
  std::filesystem::path guestinit;       // empty when not found beside the supervisor
  std::vector<protocol::PortForward> published;  // recorded so inspect shows what listens where
};

// <state>/cache/sha256
std::filesystem::path hash_cache_dir(const std::filesystem::path& state_dir);

// The guest init beside this executable (the supervisor's install), if present.
std::filesystem::path installed_guestinit();

// Records `inputs` with fresh hashes. The base of an existing root overlay
// must not change: a different base hash than recorded is `conflict`.
Result<nlohmann::json> write_workspace_manifest(const std::filesystem::path& manifest_path, const ManifestInputs& inputs);

// The recorded manifest plus, for each file, its current hash:
// {"...recorded", "verified": true, "divergences": [{"item","path","recorded","actual"}]}.
Result<nlohmann::json> verify_workspace_manifest(const std::filesystem::path& manifest_path);

}  // namespace microagent::linux_kvm
