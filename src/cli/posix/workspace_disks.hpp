#pragma once
// The disks a run/create/start request names: the image's cached root disk
// and the ext4 images built from --volume directories (at prepare time, in
// <state>/workspaces/<name>/volumes/, kept for later starts of the workspace).
#include <filesystem>
#include <string>
#include <vector>

#include "cli/disk_flags.hpp"
#include "common/error.hpp"
#include "image/oci/image_config.hpp"
#include "supervisor/runtime_store.hpp"

namespace microagent::cli {

struct SelectedImage {
  std::string reference;
  std::string digest;
  image::ImageConfig config;
  std::filesystem::path root_disk;  // ext4 base (never written: workspaces get overlays)
};

// Resolves `reference` in the state dir's image store and builds (once) its root disk.
Result<SelectedImage> select_image(const std::filesystem::path& state_dir, const std::string& reference,
                                   const std::filesystem::path& guest_init);

// Started workspaces keep their volumes with their other disks; a foreground
// run gets a private directory (this process's), removed when the run ends, so
// a run can never touch the volumes of a workspace with the same name.
// Workspaces whose manifest names image `digest` (their root overlays are
// backed by its root disk: removing the image would break them).
std::vector<std::string> workspaces_using_image(const std::filesystem::path& state_dir, const std::string& digest);

std::filesystem::path volumes_dir(const supervisor::RuntimeStore& store);
std::filesystem::path run_volumes_dir(const supervisor::RuntimeStore& store);

// One disk per volume: built from its directory unless `reuse` and already
// there (a started workspace keeps what the guest wrote across halt/start).
Result<std::vector<DiskFlag>> build_volume_disks(const std::vector<DiskFlag>& volumes, const std::filesystem::path& dir,
                                                 bool reuse);

}  // namespace microagent::cli
