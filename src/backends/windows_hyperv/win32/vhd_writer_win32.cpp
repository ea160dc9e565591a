// image/vhd/vhd_writer.hpp on Windows: the same fixed-VHD layout (payload,
// zero padding to a sector, 512-byte footer) written with standard streams;
// no hole detection (NTFS files here are written dense), atomic through
// MoveFileExW. The footer encoding is image/vhd/vhd_footer.cpp, shared.
#include "image/vhd/vhd_writer.hpp"

#include "backends/windows_hyperv/win32/windows_headers.hpp"

#include <chrono>
#include <fstream>
#include <vector>

#include <fmt/core.h>

#include "backends/windows_hyperv/win32/win32_error.hpp"
#include "common/atomic_file.hpp"

namespace microagent::image {

namespace {

std::uint32_t now_vhd_timestamp() {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return vhd_timestamp_from_unix(std::chrono::duration_cast<std::chrono::seconds>(now).count());
}

}  // namespace

Result<void> write_fixed_vhd(const std::filesystem::path& raw, const std::filesystem::path& vhd,
                             const VhdOptions& options) {
  std::error_code ec;
  if (!std::filesystem::exists(raw, ec)) return fail(ErrorCode::not_found, "raw image does not exist: " + raw.string());
  if (!std::filesystem::is_regular_file(raw, ec)) {
    return fail(ErrorCode::invalid_request, raw.string() + " is not a regular file: a VHD is built from a raw image file");
  }
  const std::uint64_t source_size = std::filesystem::file_size(raw, ec);
  if (ec || source_size == 0) return fail(ErrorCode::invalid_request, raw.string() + " is empty: a VHD needs a non-empty disk");
  const std::uint64_t current_size = (source_size + vhd::kSectorSize - 1) / vhd::kSectorSize * vhd::kSectorSize;
  VhdFooter footer = make_fixed_vhd_footer(current_size, options.timestamp.value_or(now_vhd_timestamp()),
                                           options.unique_id.value_or(random_vhd_unique_id()));
  footer.creator_application = options.creator_application;
  if (options.geometry == VhdGeometryPolicy::max_chs) {
    footer.geometry = VhdGeometry{vhd::kMaxCylinders, vhd::kMaxHeads, vhd::kMaxSectorsPerTrack};
  }
  const VhdFooterBytes footer_bytes = encode_vhd_footer(footer);

  const std::filesystem::path temp = vhd.string() + temp_suffix();
  auto written = [&]() -> Result<void> {
    std::ifstream in(raw, std::ios::binary);
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!in || !out) return fail(ErrorCode::internal, "open " + raw.string() + " / " + temp.string());
    std::vector<char> buffer(1 << 20);
    while (in) {
      in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      if (in.gcount() > 0) out.write(buffer.data(), in.gcount());
    }
    const std::vector<char> padding(current_size - source_size, 0);
    out.write(padding.data(), static_cast<std::streamsize>(padding.size()));
    out.write(reinterpret_cast<const char*>(footer_bytes.data()), static_cast<std::streamsize>(footer_bytes.size()));
    out.close();
    if (!out) return fail(ErrorCode::internal, "write " + temp.string());
    if (!MoveFileExW(temp.wstring().c_str(), vhd.wstring().c_str(), MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
      return windows_hyperv::win32::fail_win32("rename " + temp.string() + " -> " + vhd.string(), GetLastError());
    }
    return {};
  }();
  if (!written) std::filesystem::remove(temp, ec);
  return written;
}

Result<VhdInfo> read_vhd_footer(const std::filesystem::path& vhd) {
  std::error_code ec;
  const std::uint64_t file_size = std::filesystem::file_size(vhd, ec);
  if (ec) return fail(ErrorCode::not_found, "open VHD " + vhd.string() + ": " + ec.message());
  if (file_size < vhd::kFooterSize) {
    return fail(ErrorCode::invalid_request, fmt::format("{} is {} bytes, smaller than the 512-byte VHD footer", vhd.string(), file_size));
  }
  std::ifstream in(vhd, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(file_size - vhd::kFooterSize));
  VhdFooterBytes bytes{};
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!in) return fail(ErrorCode::internal, "read " + vhd.string());
  auto footer = decode_vhd_footer(bytes);
  if (!footer) return fail(footer.error().code, vhd.string() + ": " + footer.error().message);
  if (file_size != footer->current_size + vhd::kFooterSize) {
    return fail(ErrorCode::invalid_request, fmt::format("{}: file is {} bytes but the footer says {} + 512", vhd.string(),
                                                        file_size, footer->current_size));
  }
  return VhdInfo{*footer, file_size};
}

}  // namespace microagent::image
