#pragma once
// A guest config too large for the kernel command line rides in a per-runtime
// initramfs: the kernel artifact's initrd, zero-padded to 4 bytes, followed by
// a second cpio "newc" archive holding microagent/config.json. The kernel
// unpacks concatenated archives in order (Documentation/driver-api/
// early-userspace/buffer-format.rst), and guest init reads the file when the
// command line has no microagent.config= (guestinit/config_source.hpp), as on
// Linux (linux_kvm materialize_guest_config). libarchive is not available to
// the mingw build, hence this small writer; it is portable C++.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace microagent::windows_hyperv {

// Type bits of a newc header's c_mode (octal, as in <sys/stat.h>; Windows has no such header values to rely on).
inline constexpr std::uint32_t kNewcDirectory = 0040000;
inline constexpr std::uint32_t kNewcRegularFile = 0100000;

struct NewcEntry {
  std::string path;         // relative, no leading '/', e.g. "microagent/config.json"
  std::uint32_t mode = 0;   // type bits | permissions
  std::string data;         // file contents (empty for a directory)
};

// One newc archive: each entry as "070701" + 13 eight-digit hex fields
// (ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor
// rdevminor namesize check) + NUL-terminated name, padded to 4, + data,
// padded to 4; then the "TRAILER!!!" entry. uid/gid 0, mtime 0.
std::string newc_archive(const std::vector<NewcEntry>& entries);

// The archive guest init needs: the microagent/ directory and its config.json (0600).
std::string config_archive(std::string_view config_json);

// <base>, zero-padded to a multiple of 4, then config_archive(config_json), to
// `out` (temp file and rename: a crash never leaves a torn initrd).
Result<void> write_initrd_with_config(const std::filesystem::path& base, std::string_view config_json,
                                      const std::filesystem::path& out);

// The combined initrd's name in the runtime dir.
inline constexpr std::string_view kInitrdWithConfigName = "initrd-with-config.cpio";

}  // namespace microagent::windows_hyperv
