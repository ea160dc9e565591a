#include "image/vhd/vhd_writer.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "common/atomic_file.hpp"
#include "common/unique_fd.hpp"

namespace microagent::image {
namespace {

// Zero detection granularity: the usual filesystem block, so a skipped block
// is a block the output never allocates.
constexpr std::size_t kBlock = 4096;
constexpr std::size_t kChunk = 1u << 20;

bool all_zero(const std::uint8_t* p, std::size_t n) {
  return n == 0 || (p[0] == 0 && std::memcmp(p, p + 1, n - 1) == 0);
}

Result<void> pwrite_all(int fd, const std::uint8_t* data, std::size_t size, off_t offset,
                        const std::filesystem::path& path) {
  while (size > 0) {
    ssize_t n = ::pwrite(fd, data, size, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("write " + path.string(), errno);
    }
    data += n;
    size -= static_cast<std::size_t>(n);
    offset += n;
  }
  return {};
}

// Copies [begin, end) of the source, writing only blocks that hold a non-zero
// byte; the output was ftruncate'd to its full size, so the rest reads as zeros.
Result<void> copy_extent(int in, int out, off_t begin, off_t end, std::vector<std::uint8_t>& buffer,
                         const std::filesystem::path& raw, const std::filesystem::path& vhd) {
  off_t pos = begin;
  while (pos < end) {
    auto want = static_cast<std::size_t>(std::min<off_t>(static_cast<off_t>(buffer.size()), end - pos));
    std::size_t got = 0;
    while (got < want) {
      ssize_t n = ::pread(in, buffer.data() + got, want - got, pos + static_cast<off_t>(got));
      if (n < 0) {
        if (errno == EINTR) continue;
        return fail_errno("read " + raw.string(), errno);
      }
      if (n == 0) return fail(ErrorCode::conflict, raw.string() + " shrank while it was being copied into a VHD");
      got += static_cast<std::size_t>(n);
    }
    // Blocks aligned to the absolute offset, so holes line up with the output's blocks.
    std::size_t i = 0;
    while (i < want) {
      std::size_t block_end = std::min(want, static_cast<std::size_t>(((pos + i) / kBlock + 1) * kBlock - pos));
      if (all_zero(buffer.data() + i, block_end - i)) {
        i = block_end;
        continue;
      }
      std::size_t run_end = block_end;
      while (run_end < want) {
        std::size_t next = std::min(want, run_end + kBlock);
        if (all_zero(buffer.data() + run_end, next - run_end)) break;
        run_end = next;
      }
      if (auto ok = pwrite_all(out, buffer.data() + i, run_end - i, pos + static_cast<off_t>(i), vhd); !ok) return ok;
      i = run_end;
    }
    pos += static_cast<off_t>(want);
  }
  return {};
}

// Walks the source's data extents with SEEK_DATA/SEEK_HOLE; where the
// filesystem does not support them the whole file is one extent and zero
// detection alone keeps the output sparse.
Result<void> copy_sparse(int in, int out, off_t size, const std::filesystem::path& raw,
                         const std::filesystem::path& vhd) {
  std::vector<std::uint8_t> buffer(kChunk);
  off_t pos = 0;
  while (pos < size) {
    off_t data = ::lseek(in, pos, SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) return {};  // only a hole remains
      if (errno != EINVAL && errno != EOPNOTSUPP) return fail_errno("seek data in " + raw.string(), errno);
      return copy_extent(in, out, pos, size, buffer, raw, vhd);
    }
    if (data >= size) return {};
    off_t hole = ::lseek(in, data, SEEK_HOLE);
    if (hole < 0) return fail_errno("seek hole in " + raw.string(), errno);
    hole = std::min(hole, size);
    if (auto ok = copy_extent(in, out, data, hole, buffer, raw, vhd); !ok) return ok;
    pos = hole;
  }
  return {};
}

}  // namespace

Result<void> write_fixed_vhd(const std::filesystem::path& raw, const std::filesystem::path& vhd,
                             const VhdOptions& options) {
  UniqueFd in(::open(raw.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) return fail_errno("open raw image " + raw.string(), errno);
  struct stat st{};
  if (::fstat(in.get(), &st) != 0) return fail_errno("stat " + raw.string(), errno);
  if (!S_ISREG(st.st_mode)) {
    return fail(ErrorCode::invalid_request, raw.string() + " is not a regular file: a VHD is built from a raw image file");
  }
  if (st.st_size == 0) return fail(ErrorCode::invalid_request, raw.string() + " is empty: a VHD needs a non-empty disk");
  const auto [current_size, footer_bytes] = plan_fixed_vhd(static_cast<std::uint64_t>(st.st_size), options);

  const std::filesystem::path temp = vhd.string() + temp_suffix();
  UniqueFd out(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, options.mode));
  if (!out) return fail_errno("create " + temp.string(), errno);
  auto written = [&]() -> Result<void> {
    if (::fchmod(out.get(), options.mode) != 0) return fail_errno("chmod " + temp.string(), errno);
    // Full length first: everything not written below is a hole that reads as zeros.
    if (::ftruncate(out.get(), static_cast<off_t>(current_size + vhd::kFooterSize)) != 0) {
      return fail_errno("resize " + temp.string(), errno);
    }
    if (auto ok = copy_sparse(in.get(), out.get(), st.st_size, raw, temp); !ok) return ok;
    if (auto ok = pwrite_all(out.get(), footer_bytes.data(), footer_bytes.size(), static_cast<off_t>(current_size),
                             temp);
        !ok) {
      return ok;
    }
    if (::fsync(out.get()) != 0) return fail_errno("fsync " + temp.string(), errno);
    if (::close(out.release()) != 0) return fail_errno("close " + temp.string(), errno);
    if (::rename(temp.c_str(), vhd.c_str()) != 0) {
      return fail_errno("rename " + temp.string() + " -> " + vhd.string(), errno);
    }
    return {};
  }();
  if (!written) {
    out.reset();
    ::unlink(temp.c_str());
    return written;
  }
  return fsync_directory(vhd.has_parent_path() ? vhd.parent_path() : std::filesystem::path("."));
}

Result<VhdInfo> read_vhd_footer(const std::filesystem::path& vhd) {
  UniqueFd fd(::open(vhd.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail_errno("open VHD " + vhd.string(), errno);
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0) return fail_errno("stat " + vhd.string(), errno);
  if (!S_ISREG(st.st_mode)) return fail(ErrorCode::invalid_request, vhd.string() + " is not a regular file");
  const auto file_size = static_cast<std::uint64_t>(st.st_size);
  if (auto ok = check_vhd_holds_a_footer(vhd, file_size); !ok) return std::unexpected(ok.error());
  VhdFooterBytes bytes{};
  std::size_t got = 0;
  const auto footer_offset = static_cast<off_t>(file_size - vhd::kFooterSize);
  while (got < bytes.size()) {
    ssize_t n = ::pread(fd.get(), bytes.data() + got, bytes.size() - got, footer_offset + static_cast<off_t>(got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("read " + vhd.string(), errno);
    }
    if (n == 0) return fail(ErrorCode::conflict, vhd.string() + " shrank while its footer was being read");
    got += static_cast<std::size_t>(n);
  }
  return check_vhd_footer(vhd, file_size, bytes);
}

}  // namespace microagent::image
