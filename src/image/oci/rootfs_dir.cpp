#include "image/oci/rootfs_dir.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace microagent::image {
namespace {

int openat2_in_root(int root, const std::string& relative, int flags) {
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  for (;;) {
    long fd = ::syscall(SYS_openat2, root, relative.c_str(), &how, sizeof how);
    // EAGAIN: a concurrent rename raced the resolution; retrying is the documented answer.
    if (fd < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    return static_cast<int>(fd);
  }
}

std::unexpected<Error> resolution_error(std::string_view relative, int err) {
  std::string name(relative);
  if (err == ENOENT) return fail(ErrorCode::not_found, "'" + name + "' does not exist in the rootfs");
  if (err == ELOOP || err == ENOTDIR || err == EXDEV) {
    return fail(ErrorCode::invalid_request,
                "'" + name + "' resolves through a symlink loop or a non-directory inside the rootfs; "
                "the image is hostile or corrupt");
  }
  if (err == ENOSYS) {
    return fail(ErrorCode::host_unavailable, "openat2(2) is not available: image import needs Linux 5.6 or newer");
  }
  return fail_errno("resolve '" + name + "' in the rootfs", err);
}

std::vector<std::string> split(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    std::size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    parts.emplace_back(path.substr(pos, end - pos));
    pos = end + 1;
  }
  return parts;
}

}  // namespace

std::optional<std::string> normalize_entry_path(std::string_view name) {
  std::string out;
  for (const std::string& part : split(name)) {
    if (part == "..") return std::nullopt;
    if (part.empty() || part == ".") continue;
    if (!out.empty()) out.push_back('/');
    out += part;
  }
  return out;
}

Result<RootfsDir> RootfsDir::open(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return fail(ErrorCode::not_found, dir.string() + " does not exist");
    return fail_errno("open " + dir.string(), errno);
  }
  return RootfsDir(std::move(fd), dir);
}

Result<UniqueFd> RootfsDir::resolve(std::string_view relative, int flags) const {
  std::string path = relative.empty() ? std::string(".") : std::string(relative);
  UniqueFd fd(openat2_in_root(root_.get(), path, flags));
  if (!fd) return resolution_error(relative, errno);
  return fd;
}

Result<ParentDir> RootfsDir::parent_of(std::string_view relative, bool create_missing) const {
  auto parts = split(relative);
  ParentDir out;
  out.leaf = parts.back();
  if (out.leaf.empty() || out.leaf == "." || out.leaf == "..") {
    return fail(ErrorCode::invalid_request, "'" + std::string(relative) + "' is not a valid path in the rootfs");
  }
  parts.pop_back();
  auto current = resolve("", O_PATH | O_DIRECTORY);
  if (!current) return std::unexpected(current.error());
  std::string prefix;
  for (const std::string& part : parts) {
    prefix += prefix.empty() ? part : "/" + part;
    auto next = resolve(prefix, O_PATH | O_DIRECTORY);
    if (!next && next.error().code == ErrorCode::not_found && create_missing) {
      if (::mkdirat(current->get(), part.c_str(), 0755) != 0 && errno != EEXIST) {
        return fail_errno("create directory '" + prefix + "' in the rootfs", errno);
      }
      next = resolve(prefix, O_PATH | O_DIRECTORY);
    }
    if (!next) return std::unexpected(next.error());
    current = std::move(next);
  }
  out.dir = std::move(*current);
  return out;
}

Result<UniqueFd> RootfsDir::open_directory(std::string_view relative) const {
  return resolve(relative, O_RDONLY | O_DIRECTORY);
}

Result<UniqueFd> RootfsDir::open_regular_file(std::string_view relative) const {
  auto fd = resolve(relative, O_RDONLY);
  if (!fd) return fd;
  struct stat st{};
  if (::fstat(fd->get(), &st) != 0) return fail_errno("stat '" + std::string(relative) + "'", errno);
  if (!S_ISREG(st.st_mode)) {
    return fail(ErrorCode::invalid_request, "'" + std::string(relative) + "' is not a regular file");
  }
  return fd;
}

Result<void> remove_entry_at(int dir, const std::string& name) {
  struct stat st{};
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return {};
    return fail_errno("stat '" + name + "'", errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlinkat(dir, name.c_str(), 0) != 0 && errno != ENOENT) return fail_errno("remove '" + name + "'", errno);
    return {};
  }
  UniqueFd child(::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!child) return fail_errno("open directory '" + name + "'", errno);
  DIR* listing = ::fdopendir(::dup(child.get()));
  if (!listing) return fail_errno("list directory '" + name + "'", errno);
  std::vector<std::string> names;
  while (dirent* e = ::readdir(listing)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  ::closedir(listing);
  for (const std::string& n : names) {
    if (auto removed = remove_entry_at(child.get(), n); !removed) return removed;
  }
  if (::unlinkat(dir, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return fail_errno("remove directory '" + name + "'", errno);
  }
  return {};
}

}  // namespace microagent::image
