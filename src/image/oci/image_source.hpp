#pragma once
// What an image source (OCI image layout, docker-archive) says about one
// image: its config (bytes and digest) and its layer files in order. Every
// file is read through a RootfsDir, so a source's own symlinks cannot make us
// read outside it. Blob digests are checked here for the small JSON documents
// and by the importer, while applying, for the layers.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "image/oci/image_config.hpp"
#include "image/oci/rootfs_dir.hpp"

namespace microagent::image {

struct LayerBlob {
  std::string path;                        // relative to the source directory
  std::optional<std::string> blob_digest;  // from the descriptor, when the format has one
  std::string diff_id;                     // from the config
};

struct ImageManifest {
  std::string config_bytes;
  std::string config_digest;  // sha256 of config_bytes
  ImageConfig config;
  std::vector<LayerBlob> layers;
  std::vector<std::string> names;  // references the source gives the image
};

// JSON documents and configs are small; anything bigger is refused.
inline constexpr std::size_t kMaxDocumentBytes = 8 << 20;

// A whole small file of the source (invalid_request when over kMaxDocumentBytes).
Result<std::string> read_source_document(const RootfsDir& source, const std::string& relative);

// Files under `<layout>/blobs/sha256/`, verified against `digest`.
Result<std::string> read_verified_blob(const RootfsDir& layout, const std::string& digest);

// An OCI image layout (`oci-layout`, `index.json`, `blobs/`). The manifest is
// the only one, or the one whose `org.opencontainers.image.ref.name` (or
// `io.containerd.image.name`) matches `name` or its tag.
Result<ImageManifest> read_oci_layout(const RootfsDir& layout, const std::optional<std::string>& name);

// A docker-archive (`manifest.json` listing Config, RepoTags, Layers), as
// `docker save` and `skopeo copy ... docker-archive:` write it.
Result<ImageManifest> read_docker_archive(const RootfsDir& archive, const std::optional<std::string>& name);

}  // namespace microagent::image
