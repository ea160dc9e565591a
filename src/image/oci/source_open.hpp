#pragma once
// Recognises what `microagent image import SOURCE` was given. Directories are
// read in place; a tar (oci-archive, docker-archive, plain rootfs tarball,
// possibly compressed) is unpacked first, with the same confinement and size
// bounds as a layer, and recognised by what it holds.
#include <filesystem>
#include <string_view>

#include "common/error.hpp"
#include "image/oci/entry_writer.hpp"
#include "image/oci/special_files.hpp"

namespace microagent::image {

enum class SourceKind { oci_layout, oci_archive, docker_archive, rootfs_dir, rootfs_tar };
std::string_view to_string(SourceKind kind);

struct OpenedSource {
  SourceKind kind;
  std::filesystem::path dir;  // the layout / archive contents / rootfs to read
  SpecialFiles specials;      // of an unpacked tar: what a rootfs tarball's `dir` stands in for
};

// A tar is unpacked into `scratch` (which must not exist yet). With
// `documents_only`, only its small files are (enough to read the manifest and
// config, and so learn the image digest, without unpacking any layer).
Result<OpenedSource> open_image_source(const std::filesystem::path& source, const std::filesystem::path& scratch,
                                       ExtractBudget& budget, bool documents_only = false);
bool is_archive(const std::filesystem::path& source);

// Copies a plain rootfs directory into `root` (symlinks copied, never followed;
// its devices, FIFOs and setuid/setgid bits recorded in `specials`).
Result<void> copy_rootfs_dir(const std::filesystem::path& source, const RootfsDir& root, ExtractBudget& budget,
                             SpecialFiles& specials);

}  // namespace microagent::image
