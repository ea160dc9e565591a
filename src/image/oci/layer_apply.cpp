#include "image/oci/layer_apply.hpp"

#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <unordered_set>
#include <vector>

#include <fmt/format.h>

#include "image/oci/digest.hpp"
#include "image/archive_error.hpp"

namespace microagent::image {
namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";

struct ArchiveFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveFree>;

std::string join(const std::string& dir, const std::string& name) { return dir.empty() ? name : dir + "/" + name; }

// What one layer has written so far (each path and all its ancestors): an
// opaque marker or whiteout must spare exactly these.
class LayerPaths {
 public:
  void add(const std::string& path) {
    std::string prefix = path;
    while (!prefix.empty() && paths_.insert(prefix).second) {
      auto slash = prefix.rfind('/');
      prefix = slash == std::string::npos ? std::string() : prefix.substr(0, slash);
    }
  }
  bool contains(const std::string& path) const { return paths_.contains(path); }

 private:
  std::unordered_set<std::string> paths_;
};

// Removes everything under `dir` that the current layer did not write.
Result<void> clear_lower_content(const RootfsDir& root, int dir_fd, const std::string& dir, const LayerPaths& mine,
                                 SpecialFiles& specials) {
  DIR* listing = ::fdopendir(::dup(dir_fd));
  if (!listing) return fail_errno("list '" + dir + "'", errno);
  std::vector<std::string> names;
  while (dirent* e = ::readdir(listing)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  ::closedir(listing);
  auto where = root_relative_dir(root, dir_fd);
  if (!where) return std::unexpected(where.error());
  for (const std::string& name : names) {
    const std::string path = join(dir, name);
    if (!mine.contains(path)) {
      if (auto removed = remove_entry_at(dir_fd, name); !removed) return removed;
      specials.forget(join(*where, name));
      continue;
    }
    UniqueFd child(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!child) continue;  // a file of this layer
    if (auto cleared = clear_lower_content(root, child.get(), path, mine, specials); !cleared) return cleared;
  }
  return {};
}

Result<void> apply_whiteout(const RootfsDir& root, const std::string& dir, const std::string& leaf,
                            const LayerPaths& mine, SpecialFiles& specials) {
  if (leaf == kOpaqueMarker) {
    auto fd = root.open_directory(dir);
    if (!fd) return fd.error().code == ErrorCode::not_found ? Result<void>{} : std::unexpected(fd.error());
    return clear_lower_content(root, fd->get(), dir, mine, specials);
  }
  const std::string hidden = leaf.substr(kWhiteoutPrefix.size());
  if (hidden.empty() || hidden == "." || hidden == ".." || hidden.starts_with(kWhiteoutPrefix)) return {};
  const std::string target = join(dir, hidden);
  if (mine.contains(target)) return {};
  auto parent = root.parent_of(target, false);
  if (!parent) return parent.error().code == ErrorCode::not_found ? Result<void>{} : std::unexpected(parent.error());
  auto where = root_relative_dir(root, parent->dir.get());
  if (!where) return std::unexpected(where.error());
  if (auto removed = remove_entry_at(parent->dir.get(), parent->leaf); !removed) return removed;
  specials.forget(join(*where, parent->leaf));
  return {};
}

// Directory mtimes change whenever something is written inside, so they are set last.
void set_directory_times(const RootfsDir& root, const std::vector<std::pair<std::string, timespec>>& dirs) {
  for (const auto& [path, mtime] : dirs) {
    auto fd = root.open_directory(path);
    if (!fd) continue;  // removed by a later entry of the same layer
    timespec times[2] = {mtime, mtime};
    ::futimens(fd->get(), times);
  }
}

struct HashingFile {
  int fd;
  StreamingSha256 hash;
  std::uint64_t bytes = 0;
  std::function<void(std::uint64_t)> progress;
  std::vector<char> buffer = std::vector<char>(1 << 16);
};

la_ssize_t read_file(archive*, void* client, const void** out) {
  auto* source = static_cast<HashingFile*>(client);
  ssize_t n;
  do n = ::read(source->fd, source->buffer.data(), source->buffer.size());
  while (n < 0 && errno == EINTR);
  if (n > 0) {
    source->hash.update(source->buffer.data(), static_cast<std::size_t>(n));
    source->bytes += static_cast<std::uint64_t>(n);
    if (source->progress) source->progress(source->bytes);
  }
  *out = source->buffer.data();
  return n;
}

// The decompressed stream (libarchive's "raw" format over any filter), hashed
// as the tar reader pulls it: that hash is the layer's diff ID.
struct HashingStream {
  archive* decompressed;
  StreamingSha256 hash;
  std::vector<char> buffer = std::vector<char>(1 << 16);
};

la_ssize_t read_decompressed(archive*, void* client, const void** out) {
  auto* source = static_cast<HashingStream*>(client);
  la_ssize_t n = archive_read_data(source->decompressed, source->buffer.data(), source->buffer.size());
  if (n > 0) source->hash.update(source->buffer.data(), static_cast<std::size_t>(n));
  *out = source->buffer.data();
  return n;
}

}  // namespace

Result<void> apply_entries(archive* reader, const RootfsDir& root, ExtractBudget& budget, SpecialFiles& specials,
                           const ApplyOptions& options) {
  LayerPaths mine;
  std::vector<std::pair<std::string, timespec>> dir_times;
  archive_entry* entry = nullptr;
  int rc;
  while ((rc = archive_read_next_header(reader, &entry)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
    std::string_view raw = archive_entry_pathname(entry) ? archive_entry_pathname(entry) : "";
    if (!options.strip_prefix.empty()) {
      if (!raw.starts_with(options.strip_prefix)) continue;
      raw.remove_prefix(options.strip_prefix.size());
    }
    auto path = normalize_entry_path(raw);
    if (!path) {
      return fail(ErrorCode::invalid_request,
                  fmt::format("refusing image entry '{}': a '..' component would leave the rootfs", raw));
    }
    const auto slash = path->rfind('/');
    const std::string dir = slash == std::string::npos ? std::string() : path->substr(0, slash);
    const std::string leaf = slash == std::string::npos ? *path : path->substr(slash + 1);
    if (options.whiteouts && leaf.starts_with(kWhiteoutPrefix)) {
      if (auto done = apply_whiteout(root, dir, leaf, mine, specials); !done) return done;
      continue;
    }
    if (options.select && !options.select(*path, entry)) continue;
    if (auto written = write_archive_entry(reader, entry, root, *path, budget, specials); !written) return written;
    if (options.descend && archive_entry_filetype(entry) == AE_IFDIR) archive_read_disk_descend(reader);
    mine.add(*path);
    if (archive_entry_filetype(entry) == AE_IFDIR && !archive_entry_hardlink(entry)) {
      dir_times.emplace_back(*path, timespec{archive_entry_mtime(entry), archive_entry_mtime_nsec(entry)});
    }
  }
  if (rc != ARCHIVE_EOF) return fail(ErrorCode::invalid_request, "cannot read the archive: " + archive_message(reader));
  set_directory_times(root, dir_times);
  specials.drop_stale(root);
  return {};
}

Result<LayerDigests> apply_layer_file(int layer_fd, const std::string& layer_name, const RootfsDir& root,
                                      ExtractBudget& budget, SpecialFiles& specials,
                                      const std::function<void(std::uint64_t)>& progress) {
  HashingFile file{layer_fd, {}, 0, progress};
  ArchivePtr decompressed(archive_read_new());
  archive_read_support_filter_all(decompressed.get());
  archive_read_support_format_raw(decompressed.get());
  archive_entry* raw_entry = nullptr;
  if (archive_read_open(decompressed.get(), &file, nullptr, read_file, nullptr) != ARCHIVE_OK ||
      archive_read_next_header(decompressed.get(), &raw_entry) != ARCHIVE_OK) {
    return fail(ErrorCode::invalid_request,
                fmt::format("layer {}: cannot decompress: {}", layer_name, archive_message(decompressed.get())));
  }
  HashingStream stream{decompressed.get(), {}};
  ArchivePtr tar(archive_read_new());
  archive_read_support_format_tar(tar.get());
  if (archive_read_open(tar.get(), &stream, nullptr, read_decompressed, nullptr) != ARCHIVE_OK) {
    return fail(ErrorCode::invalid_request,
                fmt::format("layer {} is not a tar archive: {}", layer_name, archive_message(tar.get())));
  }
  if (auto applied = apply_entries(tar.get(), root, budget, specials); !applied) {
    Error error = applied.error();
    error.message = fmt::format("layer {}: {}", layer_name, error.message);
    return std::unexpected(error);
  }
  // The tar end marker may come before the stream ends: hash the rest too.
  const void* ignored = nullptr;
  la_ssize_t n;
  while ((n = read_decompressed(nullptr, &stream, &ignored)) > 0) {}
  if (n < 0) {
    return fail(ErrorCode::invalid_request,
                fmt::format("layer {}: corrupt compressed data: {}", layer_name, archive_message(decompressed.get())));
  }
  while ((n = read_file(nullptr, &file, &ignored)) > 0) {}
  if (n < 0) return fail_errno("read layer " + layer_name, errno);
  LayerDigests out;
  out.diff_id = stream.hash.finish_digest();
  out.blob = file.hash.finish_digest();
  out.blob_bytes = file.bytes;
  return out;
}

}  // namespace microagent::image
