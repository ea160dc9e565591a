#pragma once
// Raw disk image -> fixed VHD (payload, then the 512-byte footer), the disk
// format Hyper-V attaches (DESIGN.md section 5b). The copy keeps the source's
// holes, so a mostly empty ext4 image stays cheap on disk; the output appears
// atomically (temp name, fsync, rename).
#include <filesystem>

#include "common/error.hpp"
#include "image/vhd/vhd_layout.hpp"

namespace microagent::image {

// Writes `vhd` from the raw image `raw`. A source whose size is not a multiple
// of 512 is padded with zeros up to the next sector and the padded size is the
// VHD's current (and original) size. Errors: not_found for a missing source,
// invalid_request for an empty or non-regular one, internal for I/O failures;
// on any error `vhd` is untouched and no temp file is left.
Result<void> write_fixed_vhd(const std::filesystem::path& raw, const std::filesystem::path& vhd,
                             const VhdOptions& options = {});

// Reads and validates the footer at the end of `vhd` (decode_vhd_footer's
// checks) and that the file is exactly current size + 512 bytes.
Result<VhdInfo> read_vhd_footer(const std::filesystem::path& vhd);

}  // namespace microagent::image
