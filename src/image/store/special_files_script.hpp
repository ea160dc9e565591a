#pragma once
// The debugfs script that gives an ext4 image, built with `mke2fs -d` from a
// host rootfs, the devices, FIFOs and setuid/setgid modes its SpecialFiles
// records describe (oci/special_files.hpp): each device or FIFO stand-in is
// removed and made again with `mknod`, then its mode, owner and times are set;
// a setuid/setgid file gets its full mode back. Every name is quoted by
// image/debugfs_script.hpp and every path is absolute, so image content can
// only ever name files inside the image. Reproducible: records come sorted and
// every time written is the record's mtime or `fixed_time`.
#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "image/oci/special_files.hpp"

namespace microagent::image {

// internal when a record's path cannot be quoted (records are checked when
// made and when read, so that means a bug or a tampered store).
Result<std::string> special_files_script(const SpecialFiles& specials, std::int64_t fixed_time);

// debugfs exits 0 even when a command of its script fails, and says so on
// stderr only: the lines of `err` past its version banner.
std::vector<std::string> debugfs_script_errors(const std::string& err);

}  // namespace microagent::image
