#pragma once
// Raw disk image -> fixed VHD (payload, then the 512-byte footer), the disk
// format Hyper-V attaches (DESIGN.md section 5b). The copy keeps the source's
// holes, so a mostly empty ext4 image stays cheap on disk; the output appears
// atomically (temp name, fsync, rename).
#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>

#include "common/error.hpp"
#include "image/vhd/vhd_footer.hpp"

namespace microagent::image {

enum class VhdGeometryPolicy {
  // The specification's CHS algorithm (what Hyper-V itself writes). Readers
  // that size a disk by its geometry (QEMU, for creator applications it does
  // not know) see C*H*S*512 bytes, up to a few KiB less than current size.
  specification,
  // 65535 x 16 x 255 whatever the size, as `qemu-img ... force_size=on` does:
  // the conventional "use current size" marker, so every reader sees the
  // exact current size.
  max_chs,
};

struct VhdOptions {
  // Fixed id and time for reproducible output; by default a random UUID and now.
  std::optional<std::array<std::uint8_t, 16>> unique_id;
  std::optional<std::uint32_t> timestamp;  // seconds since 2000-01-01 UTC
  std::array<char, 4> creator_application = vhd::kCreatorMicroagent;
  // max_chs by default: plain `qemu-img -f vpc` and Hyper-V then both see exactly
  // the payload size (QEMU sizes unknown creators' disks by CHS otherwise).
  VhdGeometryPolicy geometry = VhdGeometryPolicy::max_chs;
  unsigned mode = 0644;
};

struct VhdInfo {
  VhdFooter footer;
  std::uint64_t file_size = 0;  // == footer.current_size + 512
};

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
