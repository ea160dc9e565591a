#pragma once
// Reads a Debian linux-image .deb with libarchive: the .deb is an `ar`
// archive holding control.tar.* and data.tar.*; both tars are streamed
// straight out of the ar member, nothing is staged on disk.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace microagent::image {

struct KernelDebContents {
  std::string package;  // control: Package
  std::string version;  // control: Version
  std::size_t files = 0;
};

// "./lib/modules/x.ko" -> "lib/modules/x.ko". nullopt when the path is
// absolute or has a ".." component: it would escape the target directory.
std::optional<std::string> safe_relative_path(std::string_view archive_path);

// Where a data.tar path (already made safe) lands in the artifact tree, or
// nullopt when it is not part of the kernel artifact. Kept:
// boot/vmlinuz-*, boot/config-*, boot/System.map-*, lib/modules/** (and
// usr/lib/modules/**, mapped to lib/modules/, for merged-/usr packages).
std::optional<std::string> kernel_payload_destination(std::string_view relative_path);

// Extracts the kernel payload of `deb` under `target` (an existing, empty
// directory). Regular files and directories only; links and devices are
// skipped. Any entry that would escape `target` fails the whole extraction
// (invalid_request), whether or not it is a payload path.
Result<KernelDebContents> extract_kernel_deb(const std::filesystem::path& deb, const std::filesystem::path& target);

}  // namespace microagent::image
