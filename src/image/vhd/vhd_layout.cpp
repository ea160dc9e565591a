#include "image/vhd/vhd_layout.hpp"

#include <chrono>

#include <fmt/core.h>

namespace microagent::image {

FixedVhdLayout plan_fixed_vhd(std::uint64_t source_size, const VhdOptions& options) {
  // The specification sizes disks in 512-byte sectors; the tail is zero padding.
  FixedVhdLayout layout;
  layout.current_size = (source_size + vhd::kSectorSize - 1) / vhd::kSectorSize * vhd::kSectorSize;
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  VhdFooter footer = make_fixed_vhd_footer(layout.current_size, options.timestamp.value_or(vhd_timestamp_from_unix(now.count())),
                                           options.unique_id.value_or(random_vhd_unique_id()));
  footer.creator_application = options.creator_application;
  if (options.geometry == VhdGeometryPolicy::max_chs) {
    footer.geometry = VhdGeometry{vhd::kMaxCylinders, vhd::kMaxHeads, vhd::kMaxSectorsPerTrack};
  }
  layout.footer = encode_vhd_footer(footer);
  return layout;
}

Result<void> check_vhd_holds_a_footer(const std::filesystem::path& vhd, std::uint64_t file_size) {
  if (file_size >= vhd::kFooterSize) return {};
  return fail(ErrorCode::invalid_request,
              fmt::format("{} is {} bytes, smaller than the 512-byte VHD footer: truncated or not a VHD", vhd.string(),
                          file_size));
}

Result<VhdInfo> check_vhd_footer(const std::filesystem::path& vhd, std::uint64_t file_size,
                                 const VhdFooterBytes& last_bytes) {
  auto footer = decode_vhd_footer(last_bytes);
  if (!footer) {
    return fail(footer.error().code,
                vhd.string() + ": " + footer.error().message + " (the footer is the file's last 512 bytes)");
  }
  if (file_size != footer->current_size + vhd::kFooterSize) {
    return fail(ErrorCode::invalid_request,
                fmt::format("{}: VHD file is {} bytes but its footer's current size is {}: expected {} (payload + "
                            "512-byte footer); the file was truncated or extended",
                            vhd.string(), file_size, footer->current_size, footer->current_size + vhd::kFooterSize));
  }
  return VhdInfo{*footer, file_size};
}

}  // namespace microagent::image
