#pragma once
// Writes one archive entry (file, directory, symlink, hard link, device, fifo)
// into a rootfs, with numeric ownership, mode, xattrs and mtime. Whatever was
// at the path before is replaced, except that a directory over a directory
// keeps its contents (layers merge). Devices, FIFOs and setuid/setgid bits
// never reach the host: they go to the SpecialFiles records instead
// (oci/special_files.hpp), which follow every replacement.
#include <archive.h>
#include <archive_entry.h>

#include <cstdint>
#include <string>

#include "common/error.hpp"
#include "image/oci/rootfs_dir.hpp"
#include "image/oci/special_files.hpp"

namespace microagent::image {

// Bounds on what an archive may make us write (a sparse file counts with its
// full logical size: that is what it will cost in the ext4 image).
struct ExtractLimits {
  std::uint64_t max_entry_bytes = 4ull << 30;
  std::uint64_t max_total_bytes = 32ull << 30;
  std::uint64_t max_entries = 1'000'000;
};

struct ExtractBudget {
  ExtractLimits limits;
  std::uint64_t total_bytes = 0;
  std::uint64_t entries = 0;
};

// `path` is the entry's normalized root-relative name ("" for the root).
// Refuses (invalid_request, naming the entry) sizes over the budget and hard
// links whose target is missing, a directory, or outside the rootfs.
Result<void> write_archive_entry(archive* reader, archive_entry* entry, const RootfsDir& root,
                                 const std::string& path, ExtractBudget& budget, SpecialFiles& specials);

}  // namespace microagent::image
