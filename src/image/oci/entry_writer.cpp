#include "image/oci/entry_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

#include <fmt/format.h>

#include "image/debugfs_script.hpp"

namespace microagent::image {
namespace {

std::unexpected<Error> entry_error(const std::string& path, const std::string& why) {
  return fail(ErrorCode::invalid_request, fmt::format("refusing image entry '{}': {}", path, why));
}

std::unexpected<Error> entry_errno(const std::string& path, const char* what, int err) {
  return fail_errno(fmt::format("image entry '{}': {}", path, what), err);
}

// Without root, ownership and trusted.* xattrs cannot be set: a rootless
// import keeps going with the caller's ids (the tree digest then says so).
bool privileged() { return ::geteuid() == 0; }

Result<void> set_owner(int dir, const std::string& leaf, archive_entry* entry, const std::string& path) {
  if (!privileged()) return {};
  if (::fchownat(dir, leaf.c_str(), static_cast<uid_t>(archive_entry_uid(entry)),
                 static_cast<gid_t>(archive_entry_gid(entry)), AT_SYMLINK_NOFOLLOW) != 0) {
    return entry_errno(path, "chown", errno);
  }
  return {};
}

Result<void> set_xattrs(int fd, archive_entry* entry, const std::string& path) {
  archive_entry_xattr_reset(entry);
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  while (archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK) {
    // Host-meaningful attributes never come from an image: overlayfs control
    // attributes would steer a host overlay mount, and a foreign SELinux label
    // is refused (or worse, honoured) by the host policy.
    const std::string_view key = name;
    if (key.starts_with("trusted.overlay.") || key == "security.selinux") continue;
    if (::fsetxattr(fd, name, value, size, 0) == 0) continue;
    if (errno == ENOTSUP || (errno == EPERM && !privileged())) continue;
    return entry_errno(path, fmt::format("set xattr {}", name).c_str(), errno);
  }
  return {};
}

timespec entry_mtime(archive_entry* entry) {
  return timespec{archive_entry_mtime(entry), archive_entry_mtime_is_set(entry) ? archive_entry_mtime_nsec(entry) : 0};
}

// Ownership first: chown clears setuid/setgid, so the mode comes after it.
Result<void> finish_fd(int fd, const ParentDir& parent, archive_entry* entry, const std::string& path, mode_t mode) {
  if (auto owned = set_owner(parent.dir.get(), parent.leaf, entry, path); !owned) return owned;
  if (::fchmod(fd, mode) != 0) return entry_errno(path, "chmod", errno);
  return set_xattrs(fd, entry, path);
}

// What the image says about a path, before the host's stand-in replaces it.
SpecialFile special_record(archive_entry* entry, const std::string& where, SpecialKind kind) {
  SpecialFile f;
  f.path = where;
  f.kind = kind;
  f.mode = archive_entry_perm(entry) & 07777;
  f.uid = static_cast<std::uint32_t>(archive_entry_uid(entry));
  f.gid = static_cast<std::uint32_t>(archive_entry_gid(entry));
  f.mtime = archive_entry_mtime(entry);
  if (kind == SpecialKind::char_device || kind == SpecialKind::block_device) {
    f.major = static_cast<std::uint32_t>(archive_entry_rdevmajor(entry));
    f.minor = static_cast<std::uint32_t>(archive_entry_rdevminor(entry));
  }
  return f;
}

Result<void> record_stand_in(int fd, SpecialFile file, SpecialFiles& specials, const std::string& path) {
  struct stat st{};
  if (::fstat(fd, &st) != 0) return entry_errno(path, "stat", errno);
  file.host_dev = st.st_dev;
  file.host_ino = st.st_ino;
  specials.record(std::move(file));
  return {};
}

// A setuid/setgid executable on the host is a way up for whoever can reach
// it: the host copy never has those bits, the record puts them in the image.
Result<void> write_regular(archive* reader, archive_entry* entry, const ParentDir& parent, const std::string& path,
                           const std::string& where, SpecialFiles& specials) {
  UniqueFd fd(::openat(parent.dir.get(), parent.leaf.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return entry_errno(path, "create", errno);
  const la_int64_t size = archive_entry_size(entry);
  const void* block = nullptr;
  size_t length = 0;
  la_int64_t offset = 0;
  int rc;
  // Blocks come with offsets: holes of a sparse entry are never written.
  while ((rc = archive_read_data_block(reader, &block, &length, &offset)) == ARCHIVE_OK) {
    if (offset < 0 || offset + static_cast<la_int64_t>(length) > size) {
      return entry_error(path, "its data runs past its declared size");
    }
    const char* data = static_cast<const char*>(block);
    while (length > 0) {
      ssize_t n = ::pwrite(fd.get(), data, length, offset);
      if (n < 0) {
        if (errno == EINTR) continue;
        return entry_errno(path, "write", errno);
      }
      data += n;
      length -= static_cast<size_t>(n);
      offset += n;
    }
  }
  if (rc != ARCHIVE_EOF) {
    const char* why = archive_error_string(reader);
    return entry_error(path, fmt::format("cannot read its data: {}", why ? why : "truncated archive"));
  }
  if (::ftruncate(fd.get(), size) != 0) return entry_errno(path, "set size", errno);
  const mode_t setid = archive_entry_perm(entry) & (S_ISUID | S_ISGID);
  if (auto done = finish_fd(fd.get(), parent, entry, path, archive_entry_perm(entry) & 07777 & ~setid); !done) return done;
  timespec times[2] = {entry_mtime(entry), entry_mtime(entry)};
  if (::futimens(fd.get(), times) != 0) return entry_errno(path, "set mtime", errno);
  if (!setid) return {};
  if (std::string problem = debugfs_path_problem(where); !problem.empty()) {
    specials.warn(fmt::format("image entry '{}': its setuid/setgid bits were dropped: {}", printable_path(path), problem));
    return {};
  }
  return record_stand_in(fd.get(), special_record(entry, where, SpecialKind::setid_file), specials, path);
}

Result<void> write_directory(archive_entry* entry, const ParentDir& parent, const std::string& path) {
  struct stat st{};
  bool exists = ::fstatat(parent.dir.get(), parent.leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
  if (exists && !S_ISDIR(st.st_mode)) {
    if (auto removed = remove_entry_at(parent.dir.get(), parent.leaf); !removed) return removed;
    exists = false;
  }
  if (!exists && ::mkdirat(parent.dir.get(), parent.leaf.c_str(), 0700) != 0) return entry_errno(path, "mkdir", errno);
  UniqueFd fd(::openat(parent.dir.get(), parent.leaf.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return entry_errno(path, "open directory", errno);
  return finish_fd(fd.get(), parent, entry, path, archive_entry_perm(entry) & 07777);
}

Result<void> write_symlink(archive_entry* entry, const ParentDir& parent, const std::string& path) {
  const char* target = archive_entry_symlink(entry);
  if (!target || !*target) return entry_error(path, "symlink without a target");
  // Stored as written, never followed here: resolution happens later, in the guest.
  if (::symlinkat(target, parent.dir.get(), parent.leaf.c_str()) != 0) return entry_errno(path, "symlink", errno);
  if (auto owned = set_owner(parent.dir.get(), parent.leaf, entry, path); !owned) return owned;
  timespec times[2] = {entry_mtime(entry), entry_mtime(entry)};
  if (::utimensat(parent.dir.get(), parent.leaf.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return entry_errno(path, "set mtime", errno);
  }
  return {};
}

Result<void> write_hardlink(const char* raw_target, const RootfsDir& root, const ParentDir& parent,
                            const std::string& path, const std::string& where, SpecialFiles& specials) {
  auto target = normalize_entry_path(raw_target);
  if (!target || target->empty()) return entry_error(path, fmt::format("hard link target '{}' is outside the rootfs", raw_target));
  auto source = root.parent_of(*target, false);
  if (!source) return entry_error(path, fmt::format("hard link target '{}': {}", raw_target, source.error().message));
  struct stat st{};
  if (::fstatat(source->dir.get(), source->leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return entry_error(path, fmt::format("hard link target '{}' does not exist in the rootfs", raw_target));
  }
  if (S_ISDIR(st.st_mode)) return entry_error(path, fmt::format("hard link target '{}' is a directory", raw_target));
  auto source_dir = root_relative_dir(root, source->dir.get());
  if (!source_dir) return std::unexpected(source_dir.error());
  const SpecialFile* special = specials.find(source_dir->empty() ? source->leaf : *source_dir + "/" + source->leaf);
  std::optional<SpecialFile> copy;
  if (special && special->host_dev == st.st_dev && special->host_ino == st.st_ino) copy = *special;
  const std::string problem = debugfs_path_problem(where);
  if (copy && copy->kind != SpecialKind::setid_file && !problem.empty()) {
    specials.warn(fmt::format("image entry '{}': a {} left out of the image: {}", printable_path(path),
                              to_string(copy->kind), problem));
    return {};
  }
  // No AT_SYMLINK_FOLLOW: a link to a symlink links the symlink itself.
  if (::linkat(source->dir.get(), source->leaf.c_str(), parent.dir.get(), parent.leaf.c_str(), 0) != 0) {
    return entry_errno(path, "hard link", errno);
  }
  // A setuid file's other names share its inode, whose mode the record of any
  // one name sets; a device's names each become a node of their own.
  if (copy && problem.empty()) {
    copy->path = where;
    specials.record(std::move(*copy));
  }
  return {};
}

// A device node or FIFO in the host tree would be a door into the host's
// devices (or a trap for whatever walks the tree): the host gets an empty
// 0600 root-owned file, the record the node the image declares.
Result<void> write_node(archive_entry* entry, const ParentDir& parent, const std::string& path, const std::string& where,
                        SpecialFiles& specials) {
  const mode_t type = archive_entry_filetype(entry);
  const SpecialKind kind = type == AE_IFCHR   ? SpecialKind::char_device
                           : type == AE_IFBLK ? SpecialKind::block_device
                                              : SpecialKind::fifo;
  SpecialFile file = special_record(entry, where, kind);
  std::string problem = debugfs_path_problem(where);
  // debugfs's mknod takes 16-bit numbers (Linux majors stop at 4095 anyway).
  if (problem.empty() && (file.major > 0xffff || file.minor > 0xffff)) {
    problem = fmt::format("device number {}:{} is beyond what the ext4 builder can write", file.major, file.minor);
  }
  if (!problem.empty()) {
    specials.warn(fmt::format("image entry '{}': a {} left out of the image: {}", printable_path(path), to_string(kind),
                              problem));
    return {};
  }
  UniqueFd fd(::openat(parent.dir.get(), parent.leaf.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return entry_errno(path, "create", errno);
  timespec times[2] = {entry_mtime(entry), entry_mtime(entry)};
  if (::futimens(fd.get(), times) != 0) return entry_errno(path, "set mtime", errno);
  return record_stand_in(fd.get(), std::move(file), specials, path);
}

Result<void> apply_root_metadata(archive_entry* entry, const RootfsDir& root) {
  auto fd = root.open_directory("");
  if (!fd) return std::unexpected(fd.error());
  if (privileged() && ::fchown(fd->get(), static_cast<uid_t>(archive_entry_uid(entry)),
                               static_cast<gid_t>(archive_entry_gid(entry))) != 0) {
    return entry_errno("/", "chown", errno);
  }
  if (::fchmod(fd->get(), archive_entry_perm(entry) & 07777) != 0) return entry_errno("/", "chmod", errno);
  return set_xattrs(fd->get(), entry, "/");
}

}  // namespace

Result<void> write_archive_entry(archive* reader, archive_entry* entry, const RootfsDir& root, const std::string& path,
                                 ExtractBudget& budget, SpecialFiles& specials) {
  if (++budget.entries > budget.limits.max_entries) {
    return entry_error(path, fmt::format("the image has more than {} entries", budget.limits.max_entries));
  }
  const mode_t type = archive_entry_filetype(entry);
  const char* hardlink = archive_entry_hardlink(entry);
  if (type == AE_IFREG && !hardlink) {
    const la_int64_t size = archive_entry_size(entry);
    if (size < 0) return entry_error(path, "negative size");
    const auto bytes = static_cast<std::uint64_t>(size);
    if (bytes > budget.limits.max_entry_bytes) {
      return entry_error(path, fmt::format("it declares {} bytes, over the limit of {} bytes for one file", bytes,
                                           budget.limits.max_entry_bytes));
    }
    budget.total_bytes += bytes;
    if (budget.total_bytes > budget.limits.max_total_bytes) {
      return entry_error(path, fmt::format("the image expands past the limit of {} bytes", budget.limits.max_total_bytes));
    }
  }
  if (path.empty()) return type == AE_IFDIR ? apply_root_metadata(entry, root) : entry_error("/", "the root must be a directory");

  auto parent = root.parent_of(path, true);
  if (!parent) {
    if (parent.error().code == ErrorCode::invalid_request || parent.error().code == ErrorCode::not_found) {
      return entry_error(path, parent.error().message);
    }
    return std::unexpected(parent.error());
  }
  auto dir = root_relative_dir(root, parent->dir.get());
  if (!dir) return std::unexpected(dir.error());
  const std::string where = dir->empty() ? parent->leaf : *dir + "/" + parent->leaf;
  if (type != AE_IFDIR) {
    if (auto removed = remove_entry_at(parent->dir.get(), parent->leaf); !removed) return removed;
    specials.forget(where);
  } else {
    specials.forget_exact(where);  // a directory over a directory keeps what is below it
  }
  if (hardlink) return write_hardlink(hardlink, root, *parent, path, where, specials);
  switch (type) {
    case AE_IFREG: return write_regular(reader, entry, *parent, path, where, specials);
    case AE_IFDIR: return write_directory(entry, *parent, path);
    case AE_IFLNK: return write_symlink(entry, *parent, path);
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO: return write_node(entry, *parent, path, where, specials);
    default: return {};  // sockets and unknown types carry nothing an image needs
  }
}

}  // namespace microagent::image
