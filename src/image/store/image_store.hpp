#pragma once
// The content-addressed image store (DESIGN.md section 3), under
// <state-dir>/images/:
//   sha256/<hex>/record.json   the ImageRecord, written before the directory appears
//   sha256/<hex>/rootfs/       the unpacked rootfs (devices, FIFOs, setuid bits only as stand-ins)
//   sha256/<hex>/special-files.json  what those stand-ins are (oci/special_files.hpp)
//   sha256/<hex>/disks/        root disks built from it (store/root_disk.hpp)
//   refs.json                  reference -> digest
//   tmp/                       staging; an import is renamed into sha256/ whole,
//                              so a half-imported image is never present
// The store is mode 0700: rootfs trees are image content, not for other host
// users (the importer keeps device nodes and setuid bits out of them anyway).
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/file_lock.hpp"
#include "image/store/image_record.hpp"
#include "image/store/ref_index.hpp"

namespace microagent::image {

class ImageStore {
 public:
  // Creates <state_dir>/images when absent.
  static Result<ImageStore> open(const std::filesystem::path& state_dir);

  const std::filesystem::path& root() const { return root_; }

  // A reference (exact, or with ":latest" added), a full digest, or a unique
  // hex prefix of at least 8 digits. not_found names the fix.
  Result<ImageRecord> resolve(const std::string& ref_or_digest) const;
  bool contains(const std::string& digest) const;
  // Every image, sorted by digest, names filled in.
  Result<std::vector<ImageRecord>> list() const;
  // Drops every reference to the image and its data (disks included).
  Result<ImageRecord> remove(const std::string& ref_or_digest);

  // For the importer: a fresh staging directory under tmp/ (stale ones of
  // dead processes are cleaned first).
  Result<std::filesystem::path> make_staging_dir(const std::string& purpose) const;
  // Renames a staging directory holding record.json and rootfs/ into place.
  // Another import of the same digest winning the race is not an error: the
  // staging copy is dropped.
  Result<void> commit(const std::filesystem::path& staging, const std::string& digest);
  // Points each reference at `digest` (a reference moves if it named another image).
  Result<void> add_refs(const std::vector<std::string>& refs, const std::string& digest);

  std::filesystem::path image_dir(const std::string& digest) const;
  Result<FileLock> lock() const;

 private:
  explicit ImageStore(std::filesystem::path root) : root_(std::move(root)) {}
  Result<ImageRecord> load(const std::string& digest, const RefMap& refs) const;
  std::optional<std::string> digest_for(const std::string& ref, const RefMap& refs) const;

  std::filesystem::path root_;
};

}  // namespace microagent::image
