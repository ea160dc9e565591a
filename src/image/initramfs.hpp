#pragma once
// The guest's initramfs (DESIGN.md section 4): guestinit as /init, the
// kernel modules it loads (in modules.dep order), optional files such as
// microagent/config.json and, for the embedded default image, busybox-static
// with its applet links. Uncompressed newc by default: it boots fastest
// under TCG.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "image/kernel_artifact.hpp"

namespace microagent::image {

struct InitramfsFile {
  std::string path;
  std::string contents;
  unsigned mode = 0644;
};

struct InitramfsSpec {
  std::filesystem::path guest_init;
  std::filesystem::path modules_dir;             // <artifact>/lib/modules/<release>
  std::string kernel_release;
  std::vector<std::string> modules;              // names; resolved with modules.dep
  std::optional<std::filesystem::path> busybox;  // set: embed busybox + applets
  std::vector<InitramfsFile> extra_files;
  bool gzip = false;                             // gzip the cpio (smaller, slower to unpack)
};

// Layout inside the archive.
inline constexpr const char* kInitramfsModulesOrder = "microagent/modules.order";  // one path per line, load order
inline constexpr const char* kInitramfsBusybox = "bin/busybox";

// The host's busybox-static binary.
inline constexpr const char* kHostBusyboxStatic = "/bin/busybox";

// Writes the archive to `out` atomically (temp file beside it, fsync, rename).
// The default guest's initramfs: our guest init, the host's busybox-static and
// these modules (kMicrovmModules, kHypervModules) of the kernel artifact.
InitramfsSpec guest_initramfs_spec(const std::filesystem::path& guest_init, const KernelArtifact& kernel,
                                   std::vector<std::string> modules);

Result<void> write_initramfs(const InitramfsSpec& spec, const std::filesystem::path& out);

// Hex SHA-256 over every input that shapes the archive; the cache file name.
Result<std::string> initramfs_cache_key(const InitramfsSpec& spec);

// `base` followed by a second newc archive holding `files`: the kernel unpacks
// concatenated archives in order, so per-run files (the guest's config.json)
// ride on a cached initramfs without rebuilding it. Written atomically.
Result<void> write_initramfs_with_files(const std::filesystem::path& base, const std::vector<InitramfsFile>& files,
                                        const std::filesystem::path& out);

// <cache_dir>/initramfs-<key>.cpio[.gz], built on a miss; a hit returns the
// existing file untouched. Safe for concurrent callers (atomic rename).
Result<std::filesystem::path> cached_initramfs(const InitramfsSpec& spec, const std::filesystem::path& cache_dir);

}  // namespace microagent::image
