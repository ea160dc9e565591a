#pragma once
// One imported image as the store records it (record.json in its directory).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "image/oci/image_config.hpp"

namespace microagent::image {

struct ImageRecord {
  std::string digest;         // "sha256:<hex>" of the image config: the store key
  ImageConfig config;         // Entrypoint, Cmd, Env, WorkingDir, User, diff IDs
  std::string rootfs_digest;  // tree digest of the rootfs (oci/tree_digest.hpp)
  std::uint64_t rootfs_entries = 0;
  std::uint64_t rootfs_bytes = 0;
  std::string source_kind;  // oci-layout, oci-archive, docker-archive, rootfs-dir, rootfs-tar
  std::string source;       // the path it was imported from
  std::string imported_at;  // RFC 3339
  // What the import could not keep as the image said (a device whose name a
  // debugfs script cannot carry, say): see oci/special_files.hpp.
  std::vector<std::string> warnings;

  // Filled in by the store when read, never stored in record.json.
  std::vector<std::string> names;  // references that point at this digest
  std::filesystem::path dir;       // <store>/sha256/<hex>
  std::filesystem::path rootfs;    // <dir>/rootfs
};

nlohmann::json to_json(const ImageRecord& record);  // includes names and paths
Result<ImageRecord> image_record_from_json(const std::string& text);

}  // namespace microagent::image
