#include "image/vhd/vhd_footer.hpp"

#include <fmt/core.h>
#ifdef _WIN32
#include <random>
#else
#include <sys/random.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace microagent::image {
namespace {

void put_be(std::uint8_t* out, std::uint64_t value, std::size_t width) {
  for (std::size_t i = 0; i < width; ++i) out[i] = static_cast<std::uint8_t>(value >> (8 * (width - 1 - i)));
}

std::uint64_t get_be(const std::uint8_t* in, std::size_t width) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < width; ++i) value = (value << 8) | in[i];
  return value;
}

std::string printable(const char* chars, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    auto c = static_cast<unsigned char>(chars[i]);
    out += (c >= 0x20 && c < 0x7f) ? std::string(1, static_cast<char>(c)) : fmt::format("\\x{:02x}", c);
  }
  return out;
}

}  // namespace

VhdGeometry vhd_chs_geometry(std::uint64_t total_sectors) {
  // Kept in the appendix's shape so it can be read against it line by line.
  total_sectors = std::min(total_sectors, vhd::kMaxChsSectors);
  std::uint64_t sectors_per_track = 0;
  std::uint64_t heads = 0;
  std::uint64_t cylinder_times_heads = 0;
  if (total_sectors >= 65535ull * 16 * 63) {
    sectors_per_track = 255;
    heads = 16;
    cylinder_times_heads = total_sectors / sectors_per_track;
  } else {
    sectors_per_track = 17;
    cylinder_times_heads = total_sectors / sectors_per_track;
    heads = (cylinder_times_heads + 1023) / 1024;
    if (heads < 4) heads = 4;
    if (cylinder_times_heads >= heads * 1024 || heads > 16) {
      sectors_per_track = 31;
      heads = 16;
      cylinder_times_heads = total_sectors / sectors_per_track;
    }
    if (cylinder_times_heads >= heads * 1024) {
      sectors_per_track = 63;
      heads = 16;
      cylinder_times_heads = total_sectors / sectors_per_track;
    }
  }
  return VhdGeometry{static_cast<std::uint16_t>(cylinder_times_heads / heads), static_cast<std::uint8_t>(heads),
                     static_cast<std::uint8_t>(sectors_per_track)};
}

std::uint32_t vhd_footer_checksum(std::span<const std::uint8_t, vhd::kFooterSize> footer) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < footer.size(); ++i) {
    if (i >= vhd::kChecksumOffset && i < vhd::kChecksumOffset + 4) continue;
    sum += footer[i];
  }
  return ~sum;
}

std::uint32_t vhd_timestamp_from_unix(std::int64_t unix_seconds) {
  std::int64_t since_2000 = unix_seconds - vhd::kTimestampEpochUnix;
  return static_cast<std::uint32_t>(std::clamp<std::int64_t>(since_2000, 0, 0xFFFFFFFF));
}

std::array<std::uint8_t, 16> random_vhd_unique_id() {
  std::array<std::uint8_t, 16> id{};
#ifdef _WIN32
  // mingw-w64's random_device draws from rand_s, the system CSPRNG.
  std::random_device entropy;
  for (auto& byte : id) byte = static_cast<std::uint8_t>(entropy() & 0xff);
#else
  std::size_t got = 0;
  while (got < id.size()) {
    ssize_t n = ::getrandom(id.data() + got, id.size() - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;  // no entropy source at all: leave the rest zero rather than fail a disk write
    }
    got += static_cast<std::size_t>(n);
  }
#endif
  id[6] = static_cast<std::uint8_t>((id[6] & 0x0f) | 0x40);  // version 4
  id[8] = static_cast<std::uint8_t>((id[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return id;
}

VhdFooter make_fixed_vhd_footer(std::uint64_t current_size, std::uint32_t timestamp,
                                const std::array<std::uint8_t, 16>& unique_id) {
  VhdFooter footer;
  footer.timestamp = timestamp;
  footer.original_size = current_size;
  footer.current_size = current_size;
  footer.geometry = vhd_chs_geometry(current_size / vhd::kSectorSize);
  footer.unique_id = unique_id;
  return footer;
}

VhdFooterBytes encode_vhd_footer(const VhdFooter& f) {
  VhdFooterBytes out{};
  std::memcpy(out.data() + vhd::kCookieOffset, f.cookie.data(), f.cookie.size());
  put_be(out.data() + vhd::kFeaturesOffset, f.features, 4);
  put_be(out.data() + vhd::kFormatVersionOffset, f.format_version, 4);
  put_be(out.data() + vhd::kDataOffsetOffset, f.data_offset, 8);
  put_be(out.data() + vhd::kTimestampOffset, f.timestamp, 4);
  std::memcpy(out.data() + vhd::kCreatorApplicationOffset, f.creator_application.data(),
              f.creator_application.size());
  put_be(out.data() + vhd::kCreatorVersionOffset, f.creator_version, 4);
  put_be(out.data() + vhd::kCreatorHostOsOffset, f.creator_host_os, 4);
  put_be(out.data() + vhd::kOriginalSizeOffset, f.original_size, 8);
  put_be(out.data() + vhd::kCurrentSizeOffset, f.current_size, 8);
  put_be(out.data() + vhd::kGeometryOffset, f.geometry.cylinders, 2);
  out[vhd::kGeometryOffset + 2] = f.geometry.heads;
  out[vhd::kGeometryOffset + 3] = f.geometry.sectors_per_track;
  put_be(out.data() + vhd::kDiskTypeOffset, f.disk_type, 4);
  std::memcpy(out.data() + vhd::kUniqueIdOffset, f.unique_id.data(), f.unique_id.size());
  out[vhd::kSavedStateOffset] = f.saved_state;
  put_be(out.data() + vhd::kChecksumOffset, vhd_footer_checksum(out), 4);
  return out;
}

Result<VhdFooter> decode_vhd_footer(std::span<const std::uint8_t, vhd::kFooterSize> bytes) {
  const std::uint8_t* b = bytes.data();
  VhdFooter f;
  std::memcpy(f.cookie.data(), b + vhd::kCookieOffset, f.cookie.size());
  if (f.cookie != vhd::kCookie) {
    return fail(ErrorCode::invalid_request,
                fmt::format("VHD footer cookie is \"{}\", expected \"conectix\": not a VHD, or truncated",
                            printable(f.cookie.data(), f.cookie.size())));
  }
  f.checksum = static_cast<std::uint32_t>(get_be(b + vhd::kChecksumOffset, 4));
  if (std::uint32_t computed = vhd_footer_checksum(bytes); computed != f.checksum) {
    return fail(ErrorCode::invalid_request,
                fmt::format("VHD footer checksum mismatch: stored 0x{:08x}, computed 0x{:08x}: the footer is corrupt",
                            f.checksum, computed));
  }
  f.features = static_cast<std::uint32_t>(get_be(b + vhd::kFeaturesOffset, 4));
  f.format_version = static_cast<std::uint32_t>(get_be(b + vhd::kFormatVersionOffset, 4));
  f.data_offset = get_be(b + vhd::kDataOffsetOffset, 8);
  f.timestamp = static_cast<std::uint32_t>(get_be(b + vhd::kTimestampOffset, 4));
  std::memcpy(f.creator_application.data(), b + vhd::kCreatorApplicationOffset, f.creator_application.size());
  f.creator_version = static_cast<std::uint32_t>(get_be(b + vhd::kCreatorVersionOffset, 4));
  f.creator_host_os = static_cast<std::uint32_t>(get_be(b + vhd::kCreatorHostOsOffset, 4));
  f.original_size = get_be(b + vhd::kOriginalSizeOffset, 8);
  f.current_size = get_be(b + vhd::kCurrentSizeOffset, 8);
  f.geometry.cylinders = static_cast<std::uint16_t>(get_be(b + vhd::kGeometryOffset, 2));
  f.geometry.heads = b[vhd::kGeometryOffset + 2];
  f.geometry.sectors_per_track = b[vhd::kGeometryOffset + 3];
  f.disk_type = static_cast<std::uint32_t>(get_be(b + vhd::kDiskTypeOffset, 4));
  std::memcpy(f.unique_id.data(), b + vhd::kUniqueIdOffset, f.unique_id.size());
  f.saved_state = b[vhd::kSavedStateOffset];

  if (f.format_version != vhd::kFormatVersion) {
    return fail(ErrorCode::invalid_request,
                fmt::format("VHD footer file format version is 0x{:08x}, expected 0x{:08x}", f.format_version,
                            vhd::kFormatVersion));
  }
  if (f.disk_type == vhd::kDiskTypeDynamic || f.disk_type == vhd::kDiskTypeDifferencing) {
    return fail(ErrorCode::unsupported,
                fmt::format("VHD disk type {} ({}) is not supported: only fixed VHDs (type 2) are; convert it with "
                            "`qemu-img convert -O vpc -o subformat=fixed,force_size=on`",
                            f.disk_type, f.disk_type == vhd::kDiskTypeDynamic ? "dynamic" : "differencing"));
  }
  if (f.disk_type != vhd::kDiskTypeFixed) {
    return fail(ErrorCode::invalid_request,
                fmt::format("VHD footer disk type is {}, expected 2 (fixed)", f.disk_type));
  }
  if (f.data_offset != vhd::kFixedDataOffset) {
    return fail(ErrorCode::invalid_request,
                fmt::format("VHD footer data offset is 0x{:016x}, expected 0xffffffffffffffff for a fixed disk",
                            f.data_offset));
  }
  if (f.current_size == 0 || f.current_size % vhd::kSectorSize != 0) {
    return fail(ErrorCode::invalid_request,
                fmt::format("VHD footer current size {} is not a non-zero multiple of 512 bytes", f.current_size));
  }
  return f;
}

std::string format_vhd_unique_id(const std::array<std::uint8_t, 16>& id) {
  std::string out;
  for (std::size_t i = 0; i < id.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += fmt::format("{:02x}", id[i]);
  }
  return out;
}

}  // namespace microagent::image
