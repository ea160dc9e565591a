#pragma once
// The guest kernel artifact: Debian's cloud kernel, fetched with apt, cut to
// an ELF vmlinux (PVH) and cached as
//   <cache_root>/<release>/{vmlinux,bzImage,config,System.map,manifest.json,lib/modules/<release>/...}
//   <cache_root>/current -> <release>
// DESIGN.md section 4.
#include <filesystem>
#include <map>
#include <string>

#include "common/error.hpp"

namespace microagent::image {

struct KernelArtifact {
  std::filesystem::path dir, vmlinux, bzimage, modules_dir;  // modules_dir = dir/lib/modules/<release>
  std::string release, package, package_version;
  std::map<std::string, std::string> sha256;  // "vmlinux", "bzImage", "deb" -> hex
};

struct KernelFetchOptions {
  std::filesystem::path cache_root;
  std::string metapackage = "linux-image-cloud-amd64";
  bool force = false;
};

// Returns the cached current artifact when it verifies (no apt call at all);
// otherwise resolves the metapackage, `apt-get download`s the real package,
// builds the artifact beside the cache and renames it into place.
Result<KernelArtifact> fetch_kernel_artifact(const KernelFetchOptions& options);
// Loads <cache_root>/current; not_found with the fix ("run: microagent kernel fetch") when absent.
Result<KernelArtifact> load_kernel_artifact(const std::filesystem::path& cache_root);
// Recomputes the SHA-256 of vmlinux and bzImage (the .deb is not kept; its
// hash is provenance only); internal error naming the divergent file.
Result<void> verify_kernel_artifact(const KernelArtifact& artifact);

// `apt-cache depends <metapackage>` output -> the linux-image-<release>
// package it depends on; not_found when there is none. Pure, for tests.
Result<std::string> kernel_package_from_depends(std::string_view apt_cache_output, std::string_view metapackage);

}  // namespace microagent::image
