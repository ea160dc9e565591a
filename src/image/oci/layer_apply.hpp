#pragma once
// Applies image layers (tar streams) onto a rootfs directory, in order, with
// the OCI whiteout rules: `.wh.NAME` removes NAME of the lower layers, and
// `.wh..wh..opq` in a directory removes the lower layers' content of that
// directory but keeps what the same layer adds there, whatever the entry order.
// Devices, FIFOs and setuid/setgid bits are recorded in `specials`, never
// written to the host (oci/special_files.hpp); the same records carry over
// from one layer to the next, so a later whiteout or replacement drops them.
#include <archive.h>
#include <archive_entry.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "common/error.hpp"
#include "image/oci/entry_writer.hpp"
#include "image/oci/rootfs_dir.hpp"

namespace microagent::image {

struct ApplyOptions {
  bool whiteouts = true;     // false: a plain archive, `.wh.` names are ordinary files
  std::string strip_prefix;  // removed from every entry name (a disk reader's source dir)
  bool descend = false;      // an archive_read_disk walk: recurse into each directory
  // When set, only entries it accepts (by normalized path) are written.
  std::function<bool(const std::string& path, archive_entry* entry)> select;
};

// Reads entries from `reader` (a tar reader, or an archive_read_disk walk) to
// its end and writes them under `root`.
Result<void> apply_entries(archive* reader, const RootfsDir& root, ExtractBudget& budget, SpecialFiles& specials,
                           const ApplyOptions& options = {});

struct LayerDigests {
  std::string blob;     // sha256 of the bytes as stored (compressed or not)
  std::string diff_id;  // sha256 of the uncompressed tar
  std::uint64_t blob_bytes = 0;
};

// Applies one layer file (tar, tar+gzip, tar+zstd, ...: libarchive detects the
// filter) and returns both of its digests, computed while it is read in one
// pass. The caller compares them with the descriptors and discards the rootfs
// on a mismatch. `progress` sees the compressed bytes read so far.
Result<LayerDigests> apply_layer_file(int layer_fd, const std::string& layer_name, const RootfsDir& root,
                                      ExtractBudget& budget, SpecialFiles& specials,
                                      const std::function<void(std::uint64_t)>& progress = {});

}  // namespace microagent::image
