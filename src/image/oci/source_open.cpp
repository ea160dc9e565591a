#include "image/oci/source_open.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include <fmt/format.h>

#include "image/oci/image_source.hpp"
#include "image/oci/layer_apply.hpp"

namespace microagent::image {
namespace {

namespace fs = std::filesystem;

struct ArchiveFree {
  void operator()(archive* a) const { archive_read_free(a); }
};

bool has_file(const fs::path& dir, const char* name) {
  std::error_code ec;
  return fs::is_regular_file(fs::symlink_status(dir / name, ec));
}

// What identifies an image in an archive: the layout marker, indexes,
// manifests and configs (small blobs, top-level or legacy <id>/json files).
// Layers and rootfs content are never written on this first look.
bool is_document(const std::string& path, archive_entry* entry) {
  if (archive_entry_filetype(entry) != AE_IFREG || archive_entry_hardlink(entry)) return false;
  if (archive_entry_size(entry) > static_cast<la_int64_t>(kMaxDocumentBytes)) return false;
  const auto slashes = std::count(path.begin(), path.end(), '/');
  return path == "oci-layout" || path == "index.json" || path == "manifest.json" ||
         (path.starts_with("blobs/") && slashes == 2) || (path.ends_with(".json") && slashes == 0) ||
         (path.ends_with("/json") && slashes == 1);
}

Result<void> unpack_tar(const fs::path& tar, const fs::path& target, ExtractBudget& budget, bool documents_only,
                        SpecialFiles& specials) {
  if (::mkdir(target.c_str(), 0755) != 0) return fail_errno("create " + target.string(), errno);
  auto root = RootfsDir::open(target);
  if (!root) return std::unexpected(root.error());
  std::unique_ptr<archive, ArchiveFree> reader(archive_read_new());
  archive_read_support_filter_all(reader.get());
  archive_read_support_format_tar(reader.get());
  if (archive_read_open_filename(reader.get(), tar.c_str(), 1 << 16) != ARCHIVE_OK) {
    const char* why = archive_error_string(reader.get());
    return fail(ErrorCode::invalid_request,
                fmt::format("{} is neither a directory nor a tar archive: {}", tar.string(), why ? why : "unreadable"));
  }
  ApplyOptions options;
  options.whiteouts = false;
  if (documents_only) options.select = is_document;
  if (auto applied = apply_entries(reader.get(), *root, budget, specials, options); !applied) {
    return fail(applied.error().code, fmt::format("{}: {}", tar.string(), applied.error().message));
  }
  return {};
}

}  // namespace

std::string_view to_string(SourceKind kind) {
  switch (kind) {
    case SourceKind::oci_layout: return "oci-layout";
    case SourceKind::oci_archive: return "oci-archive";
    case SourceKind::docker_archive: return "docker-archive";
    case SourceKind::rootfs_dir: return "rootfs-dir";
    case SourceKind::rootfs_tar: return "rootfs-tar";
  }
  return "unknown";
}

bool is_archive(const fs::path& source) {
  std::error_code ec;
  return fs::is_regular_file(source, ec);
}

Result<OpenedSource> open_image_source(const fs::path& source, const fs::path& scratch, ExtractBudget& budget,
                                       bool documents_only) {
  struct stat st{};
  if (::stat(source.c_str(), &st) != 0) {
    if (errno == ENOENT) return fail(ErrorCode::not_found, fmt::format("{} does not exist", source.string()));
    return fail_errno("stat " + source.string(), errno);
  }
  if (S_ISDIR(st.st_mode)) {
    if (has_file(source, "oci-layout")) return OpenedSource{SourceKind::oci_layout, source, {}};
    if (has_file(source, "manifest.json")) return OpenedSource{SourceKind::docker_archive, source, {}};
    return OpenedSource{SourceKind::rootfs_dir, source, {}};
  }
  if (!S_ISREG(st.st_mode)) {
    return fail(ErrorCode::invalid_request, fmt::format("{} is neither a directory nor a tar archive", source.string()));
  }
  SpecialFiles specials;
  if (auto unpacked = unpack_tar(source, scratch, budget, documents_only, specials); !unpacked) {
    return std::unexpected(unpacked.error());
  }
  if (has_file(scratch, "oci-layout")) return OpenedSource{SourceKind::oci_archive, scratch, {}};
  if (has_file(scratch, "manifest.json")) return OpenedSource{SourceKind::docker_archive, scratch, {}};
  return OpenedSource{SourceKind::rootfs_tar, scratch, std::move(specials)};
}

Result<void> copy_rootfs_dir(const fs::path& source, const RootfsDir& root, ExtractBudget& budget,
                             SpecialFiles& specials) {
  std::unique_ptr<archive, ArchiveFree> disk(archive_read_disk_new());
  archive_read_disk_set_symlink_physical(disk.get());
  // A rootfs is one filesystem: never wander into /proc or other mounts below it.
  archive_read_disk_set_behavior(disk.get(), ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS);
  std::string prefix = source.lexically_normal().string();
  while (prefix.size() > 1 && prefix.ends_with('/')) prefix.pop_back();
  if (archive_read_disk_open(disk.get(), prefix.c_str()) != ARCHIVE_OK) {
    const char* why = archive_error_string(disk.get());
    return fail(ErrorCode::invalid_request, fmt::format("cannot read {}: {}", prefix, why ? why : "unreadable"));
  }
  ApplyOptions options;
  options.whiteouts = false;
  options.strip_prefix = prefix;
  options.descend = true;
  return apply_entries(disk.get(), root, budget, specials, options);
}

}  // namespace microagent::image
