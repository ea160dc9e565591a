#include "image/ext4_image.hpp"

#include <sys/stat.h>

#include <fmt/core.h>

#include "common/atomic_file.hpp"
#include "common/process.hpp"

namespace microagent::image {

Result<std::uint64_t> directory_tree_bytes(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return fail(ErrorCode::not_found, dir.string() + " is not a directory");
  std::uint64_t total = 0;
  auto it = std::filesystem::recursive_directory_iterator(dir, std::filesystem::directory_options::none, ec);
  if (ec) return fail_errno("read " + dir.string(), ec.value());
  for (const auto end = std::filesystem::recursive_directory_iterator(); it != end; it.increment(ec)) {
    if (ec) return fail_errno("read " + dir.string(), ec.value());
    struct stat st{};
    if (::lstat(it->path().c_str(), &st) != 0) continue;
    total += 4096;  // inode and directory entry, roughly a block each
    if (S_ISREG(st.st_mode)) total += static_cast<std::uint64_t>(st.st_size);
  }
  return total;
}

std::uint64_t ext4_size_for(std::uint64_t content_bytes) {
  constexpr std::uint64_t kMiB = 1024 * 1024;
  const std::uint64_t wanted = content_bytes + content_bytes / 4 + 64 * kMiB;
  return (wanted + kMiB - 1) / kMiB * kMiB;
}

Result<void> build_ext4_image(const Ext4ImageSpec& spec) {
  std::uint64_t size = 0;
  if (spec.size_bytes) {
    size = *spec.size_bytes;
  } else {
    auto content = directory_tree_bytes(spec.source_dir);
    if (!content) return std::unexpected(content.error());
    size = ext4_size_for(*content);
  }
  if (auto ok = ensure_directory(spec.output.parent_path()); !ok) return ok;
  const std::string temp = spec.output.string() + temp_suffix();
  std::vector<std::string> argv{"mke2fs", "-q", "-F", "-t", "ext4", "-d", spec.source_dir.string()};
  if (!spec.label.empty()) argv.insert(argv.end(), {"-L", spec.label});
  if (!spec.uuid.empty()) argv.insert(argv.end(), {"-U", spec.uuid});
  std::string extended = "root_owner=0:0";
  if (!spec.hash_seed.empty()) extended += ",hash_seed=" + spec.hash_seed;
  argv.insert(argv.end(), {"-E", extended, temp, fmt::format("{}k", size / 1024)});
  SpawnOptions options;
  if (spec.fake_time) options.extra_env["E2FSPROGS_FAKE_TIME"] = std::to_string(*spec.fake_time);
  auto made = run_command(argv, {}, options);
  std::error_code ec;
  if (!made) {
    std::filesystem::remove(temp, ec);
    return fail(ErrorCode::host_unavailable, "mke2fs is not installed: apt-get install e2fsprogs");
  }
  if (!made->status.success()) {
    std::filesystem::remove(temp, ec);
    return fail(ErrorCode::internal, "mke2fs -d " + spec.source_dir.string() + " failed: " + made->err);
  }
  std::filesystem::rename(temp, spec.output, ec);
  if (ec) {
    std::filesystem::remove(temp, ec);
    return fail_errno("rename " + spec.output.string(), ec.value());
  }
  return {};
}

}  // namespace microagent::image
