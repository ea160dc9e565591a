// image/vhd/vhd_writer.hpp on Windows: the same fixed-VHD layout (payload,
// zero padding to a sector, 512-byte footer) written with standard streams;
// no hole detection (NTFS files here are written dense), atomic through
// MoveFileExW. Size, padding, footer and the reader's checks are
// image/vhd/vhd_layout.cpp, shared.
#include "image/vhd/vhd_writer.hpp"

#include "backends/windows_hyperv/win32/windows_headers.hpp"

#include <fstream>
#include <vector>

#include "backends/windows_hyperv/win32/win32_error.hpp"
#include "common/atomic_file.hpp"

namespace microagent::image {

Result<void> write_fixed_vhd(const std::filesystem::path& raw, const std::filesystem::path& vhd,
                             const VhdOptions& options) {
  std::error_code ec;
  if (!std::filesystem::exists(raw, ec)) return fail(ErrorCode::not_found, "raw image does not exist: " + raw.string());
  if (!std::filesystem::is_regular_file(raw, ec)) {
    return fail(ErrorCode::invalid_request, raw.string() + " is not a regular file: a VHD is built from a raw image file");
  }
  const std::uint64_t source_size = std::filesystem::file_size(raw, ec);
  if (ec || source_size == 0) return fail(ErrorCode::invalid_request, raw.string() + " is empty: a VHD needs a non-empty disk");
  const FixedVhdLayout layout = plan_fixed_vhd(source_size, options);

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
    const std::vector<char> padding(layout.current_size - source_size, 0);
    out.write(padding.data(), static_cast<std::streamsize>(padding.size()));
    out.write(reinterpret_cast<const char*>(layout.footer.data()), static_cast<std::streamsize>(layout.footer.size()));
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
  if (auto ok = check_vhd_holds_a_footer(vhd, file_size); !ok) return std::unexpected(ok.error());
  std::ifstream in(vhd, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(file_size - vhd::kFooterSize));
  VhdFooterBytes bytes{};
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!in) return fail(ErrorCode::internal, "read " + vhd.string());
  return check_vhd_footer(vhd, file_size, bytes);
}

}  // namespace microagent::image
