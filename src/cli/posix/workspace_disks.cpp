#include "cli/posix/workspace_disks.hpp"

#include <unistd.h>

#include <algorithm>
#include <fstream>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "image/ext4_image.hpp"
#include "image/store/image_store.hpp"
#include "image/store/root_disk.hpp"

namespace microagent::cli {

Result<SelectedImage> select_image(const std::filesystem::path& state_dir, const std::string& reference,
                                   const std::filesystem::path& guest_init) {
  auto store = image::ImageStore::open(state_dir);
  if (!store) return std::unexpected(store.error());
  auto record = store->resolve(reference);
  if (!record) return std::unexpected(record.error());
  auto disk = image::ensure_root_disk(*store, record->digest, guest_init);
  if (!disk) return std::unexpected(disk.error());
  return SelectedImage{reference, record->digest, record->config, disk->path};
}

std::vector<std::string> workspaces_using_image(const std::filesystem::path& state_dir, const std::string& digest) {
  std::vector<std::string> users;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(state_dir / "workspaces", ec)) {
    std::ifstream in(entry.path() / "manifest.json");
    if (!in) continue;
    auto manifest = nlohmann::json::parse(in, nullptr, false);
    if (manifest.is_object() && manifest.contains("image") && manifest["image"].value("digest", "") == digest) {
      users.push_back(entry.path().filename().string());
    }
  }
  std::sort(users.begin(), users.end());
  return users;
}

std::filesystem::path volumes_dir(const supervisor::RuntimeStore& store) { return store.workspace_dir() / "volumes"; }

std::filesystem::path run_volumes_dir(const supervisor::RuntimeStore& store) {
  return store.state_dir() / "tmp" / fmt::format("run-volumes-{}-{}", store.runtime_id(), ::getpid());
}

Result<std::vector<DiskFlag>> build_volume_disks(const std::vector<DiskFlag>& volumes, const std::filesystem::path& dir,
                                                 bool reuse) {
  std::vector<DiskFlag> disks;
  for (std::size_t i = 0; i < volumes.size(); ++i) {
    const auto& volume = volumes[i];
    const auto path = dir / fmt::format("volume-{}.ext4", i);
    std::error_code ec;
    if (!(reuse && std::filesystem::exists(path, ec))) {
      image::Ext4ImageSpec spec;
      spec.source_dir = volume.path;
      spec.output = path;
      spec.label = fmt::format("volume{}", i);
      if (auto built = image::build_ext4_image(spec); !built) {
        return fail(built.error().code, "--volume " + volume.path.string() + ": " + built.error().message);
      }
    }
    disks.push_back({path, volume.mount, volume.mode});
  }
  return disks;
}

}  // namespace microagent::cli
