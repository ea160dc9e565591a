#pragma once
// A canonical digest of a rootfs tree: two imports give the same digest exactly
// when they give the same filesystem as the guest sees it (paths, types, modes
// with setuid bits, numeric owners, file contents, symlink targets, device
// numbers, xattrs). Timestamps and hard-link identity are left out: they do not
// survive every export path (an OCI layout vs its docker-archive copy).
// A path with a SpecialFiles record counts as what the record says (the device
// or FIFO, the mode with its setuid bits), not as its host stand-in.
#include <cstdint>
#include <filesystem>
#include <string>

#include "common/error.hpp"
#include "image/oci/special_files.hpp"

namespace microagent::image {

struct TreeSummary {
  std::string digest;              // "sha256:<hex>"
  std::uint64_t entries = 0;       // inodes the tree needs (every path, the root included)
  std::uint64_t content_bytes = 0; // sum of regular file sizes
};

Result<TreeSummary> digest_tree(const std::filesystem::path& root, const SpecialFiles& specials = {});

}  // namespace microagent::image
