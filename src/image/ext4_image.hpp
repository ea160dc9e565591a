#pragma once
// An ext4 filesystem image made from a host directory with `mke2fs -d` (the
// real interface: e2fsprogs populates the filesystem without mounting it).
// Used for image root disks and for `--volume HOSTDIR:/mount` data disks.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "common/error.hpp"

namespace microagent::image {

struct Ext4ImageSpec {
  std::filesystem::path source_dir;  // becomes the filesystem's root directory
  std::filesystem::path output;      // written atomically (temp + rename)
  std::string label;
  // Fixed size; unset: the tree's size plus headroom (see ext4_size_for).
  std::optional<std::uint64_t> size_bytes;
  // Reproducible output: a fixed UUID and hash seed (UUID strings) and a fake
  // time for every timestamp mke2fs writes. Unset: mke2fs's random defaults.
  std::string uuid;
  std::string hash_seed;
  std::optional<std::uint64_t> fake_time;
};

// Apparent bytes of regular files plus a block per inode, under `dir`
// (symlinks not followed); fails on an unreadable tree.
Result<std::uint64_t> directory_tree_bytes(const std::filesystem::path& dir);

// Content plus 25% and 64 MiB of headroom, rounded up to a MiB.
std::uint64_t ext4_size_for(std::uint64_t content_bytes);

Result<void> build_ext4_image(const Ext4ImageSpec& spec);

}  // namespace microagent::image
