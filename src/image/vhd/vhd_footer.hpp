#pragma once
// The 512-byte footer of a fixed VHD: the whole file is the raw disk followed
// by this footer, so Hyper-V (HCS "VirtualDisk" attachments) can open an ext4
// image after one append. Encode and decode are pure functions; file I/O lives
// in vhd_writer.
//
// Source: Microsoft, "Virtual Hard Disk Image Format Specification", version
// 1.0 (October 2006): section "Hard Disk Footer Format" for the layout, its
// subsections "Checksum", "Time Stamp", "Disk Geometry", "Disk Type", and
// "Appendix: CHS Calculation" for the geometry algorithm. All integers are
// big-endian.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "common/error.hpp"

namespace microagent::image {

namespace vhd {
// "Hard Disk Footer Format": field offsets.
inline constexpr std::size_t kFooterSize = 512;
inline constexpr std::size_t kCookieOffset = 0;              // 8 bytes, "conectix"
inline constexpr std::size_t kFeaturesOffset = 8;            // u32
inline constexpr std::size_t kFormatVersionOffset = 12;      // u32
inline constexpr std::size_t kDataOffsetOffset = 16;         // u64
inline constexpr std::size_t kTimestampOffset = 24;          // u32
inline constexpr std::size_t kCreatorApplicationOffset = 28; // 4 chars
inline constexpr std::size_t kCreatorVersionOffset = 32;     // u32
inline constexpr std::size_t kCreatorHostOsOffset = 36;      // u32
inline constexpr std::size_t kOriginalSizeOffset = 40;       // u64, bytes
inline constexpr std::size_t kCurrentSizeOffset = 48;        // u64, bytes
inline constexpr std::size_t kGeometryOffset = 56;           // u16 cylinders, u8 heads, u8 sectors/track
inline constexpr std::size_t kDiskTypeOffset = 60;           // u32
inline constexpr std::size_t kChecksumOffset = 64;           // u32
inline constexpr std::size_t kUniqueIdOffset = 68;           // 16 bytes
inline constexpr std::size_t kSavedStateOffset = 84;         // u8
inline constexpr std::size_t kReservedOffset = 85;           // 427 zero bytes to the end

// "Cookie": identifies the original creator of the disk.
inline constexpr std::array<char, 8> kCookie = {'c', 'o', 'n', 'e', 'c', 't', 'i', 'x'};
// "Features": bit 0x2 is reserved and must always be set.
inline constexpr std::uint32_t kFeaturesReserved = 0x00000002;
// "File Format Version": major 1, minor 0.
inline constexpr std::uint32_t kFormatVersion = 0x00010000;
// "Data Offset": fixed disks have no dynamic header, so all ones.
inline constexpr std::uint64_t kFixedDataOffset = 0xFFFFFFFFFFFFFFFFull;
// "Creator Host OS": 0x5769326B is "Wi2k" (Windows), 0x4D616320 is "Mac ".
inline constexpr std::uint32_t kHostOsWindows = 0x5769326B;
// "Disk Type".
inline constexpr std::uint32_t kDiskTypeFixed = 2;
inline constexpr std::uint32_t kDiskTypeDynamic = 3;
inline constexpr std::uint32_t kDiskTypeDifferencing = 4;
// "Time Stamp": seconds since 2000-01-01 00:00:00 UTC, which is this Unix time.
inline constexpr std::int64_t kTimestampEpochUnix = 946684800;
inline constexpr std::uint64_t kSectorSize = 512;
// "Appendix: CHS Calculation": the largest geometry, 65535 x 16 x 255 sectors
// (about 127 GiB). Larger disks keep this geometry; their size is current size.
inline constexpr std::uint16_t kMaxCylinders = 65535;
inline constexpr std::uint8_t kMaxHeads = 16;
inline constexpr std::uint8_t kMaxSectorsPerTrack = 255;
inline constexpr std::uint64_t kMaxChsSectors = 65535ull * 16 * 255;

// Ours, not the specification's: creator application and version 0.1 (16.16).
inline constexpr std::array<char, 4> kCreatorMicroagent = {'m', 'c', 'a', 'g'};
inline constexpr std::uint32_t kCreatorVersionMicroagent = 0x00000001;
}  // namespace vhd

struct VhdGeometry {
  std::uint16_t cylinders = 0;
  std::uint8_t heads = 0;
  std::uint8_t sectors_per_track = 0;
  std::uint64_t sectors() const { return std::uint64_t{cylinders} * heads * sectors_per_track; }
  bool operator==(const VhdGeometry&) const = default;
};

// The footer's fields, in specification order.
struct VhdFooter {
  std::array<char, 8> cookie = vhd::kCookie;
  std::uint32_t features = vhd::kFeaturesReserved;
  std::uint32_t format_version = vhd::kFormatVersion;
  std::uint64_t data_offset = vhd::kFixedDataOffset;
  std::uint32_t timestamp = 0;  // seconds since 2000-01-01 UTC
  std::array<char, 4> creator_application = vhd::kCreatorMicroagent;
  std::uint32_t creator_version = vhd::kCreatorVersionMicroagent;
  std::uint32_t creator_host_os = vhd::kHostOsWindows;
  std::uint64_t original_size = 0;  // bytes
  std::uint64_t current_size = 0;   // bytes: the disk the guest sees
  VhdGeometry geometry;
  std::uint32_t disk_type = vhd::kDiskTypeFixed;
  std::uint32_t checksum = 0;  // as stored; encode_vhd_footer recomputes it
  std::array<std::uint8_t, 16> unique_id{};
  std::uint8_t saved_state = 0;
  bool operator==(const VhdFooter&) const = default;
};

using VhdFooterBytes = std::array<std::uint8_t, vhd::kFooterSize>;

// "Appendix: CHS Calculation", verbatim: sectors per track 17, then 31, then
// 63 while the heads fit in 16 and cylinders in 1024 per head; 255 from
// 65535*16*63 sectors on; capped at 65535*16*255.
VhdGeometry vhd_chs_geometry(std::uint64_t total_sectors);

// "Checksum": one's complement of the sum of all footer bytes, the checksum
// field taken as zero.
std::uint32_t vhd_footer_checksum(std::span<const std::uint8_t, vhd::kFooterSize> footer);

// Seconds since 2000-01-01 UTC for a Unix time (clamped to the u32 range).
std::uint32_t vhd_timestamp_from_unix(std::int64_t unix_seconds);

// A random RFC 4122 version-4 UUID from getrandom().
std::array<std::uint8_t, 16> random_vhd_unique_id();

// A fixed-disk footer for `current_size` bytes (a multiple of 512): geometry
// from the specification's algorithm, original size = current size.
VhdFooter make_fixed_vhd_footer(std::uint64_t current_size, std::uint32_t timestamp,
                                const std::array<std::uint8_t, 16>& unique_id);

// Serializes the fields big-endian and stores the computed checksum (the
// struct's `checksum` is ignored). Reserved bytes are zero.
VhdFooterBytes encode_vhd_footer(const VhdFooter& footer);

// Parses and validates a footer, in this order, each failure naming the field:
// cookie, checksum, format version, disk type (dynamic/differencing:
// unsupported; anything but fixed: invalid_request), data offset (all ones),
// current size (non-zero, a multiple of 512). Not checked beyond the checksum:
// features, timestamp, creator fields, original size, geometry, unique id,
// saved state and the reserved bytes.
Result<VhdFooter> decode_vhd_footer(std::span<const std::uint8_t, vhd::kFooterSize> bytes);

std::string format_vhd_unique_id(const std::array<std::uint8_t, 16>& id);

}  // namespace microagent::image
