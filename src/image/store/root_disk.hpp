#pragma once
// The root disk of an imported image: an ext4 image built with `mke2fs -d`
// from the stored rootfs, the guest init injected at /.microagent/guestinit
// (0755, root-owned) and the mount points guest init needs (/proc /sys /dev
// /run /tmp) added when the image lacks them. Reproducible: the UUID and the
// directory hash seed derive from the image digest and the guest init hash,
// and every timestamp is fixed, so the same inputs give the same bytes. Cached
// per (image digest, guest init SHA-256) under the image's directory; built in
// the store's tmp/ and renamed into place, so a cached disk is always whole.
#include <cstdint>
#include <filesystem>
#include <string>

#include "common/error.hpp"
#include "image/store/image_store.hpp"

namespace microagent::image {

struct RootDisk {
  std::filesystem::path path;  // <store>/sha256/<hex>/disks/root-<guestinit hash prefix>.ext4 (raw ext4)
  std::string sha256;          // hex SHA-256 of the image file
  std::uint64_t size_bytes = 0;
  bool built = false;          // false: it came from the cache
};

// Content plus 25% and 64 MiB of headroom, rounded up to a MiB.
std::uint64_t root_disk_size(std::uint64_t content_bytes, std::uint64_t entries);

Result<RootDisk> ensure_root_disk(const ImageStore& store, const std::string& digest,
                                  const std::filesystem::path& guestinit_path);

}  // namespace microagent::image
