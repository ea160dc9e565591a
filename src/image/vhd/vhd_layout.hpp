#pragma once
// What a fixed VHD looks like around a raw image, independent of how the bytes
// are written: the options, the padded size and footer a writer lays down, and
// the checks a reader makes on the last 512 bytes. Shared by the POSIX writer
// (vhd_writer.cpp) and the Win32 one (backends/windows_hyperv/win32/).
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

// A fixed VHD of a `source_size`-byte raw image: the payload, zeros up to the
// next sector (current_size), then `footer`.
struct FixedVhdLayout {
  std::uint64_t current_size = 0;
  VhdFooterBytes footer{};
};
FixedVhdLayout plan_fixed_vhd(std::uint64_t source_size, const VhdOptions& options);

// A reader's checks once it has the file's size and last 512 bytes: the footer
// decodes (decode_vhd_footer's checks) and the file is current size + 512.
Result<VhdInfo> check_vhd_footer(const std::filesystem::path& vhd, std::uint64_t file_size,
                                 const VhdFooterBytes& last_bytes);

// invalid_request when a file of `file_size` bytes cannot even hold a footer.
Result<void> check_vhd_holds_a_footer(const std::filesystem::path& vhd, std::uint64_t file_size);

}  // namespace microagent::image
