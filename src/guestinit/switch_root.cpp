#include "guestinit/switch_root.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/unique_fd.hpp"
#include "guestinit/console_log.hpp"

namespace microagent::guestinit {
namespace {

constexpr const char* kMovedMounts[] = {"/dev", "/proc", "/sys", "/run", "/tmp"};

// Deletes everything under `dir_fd` that lives on device `dev`; other
// filesystems (the new root, moved mounts) are never entered.
void delete_tree_on_device(int dir_fd, dev_t dev) {
  DIR* dir = ::fdopendir(dir_fd);
  if (!dir) {
    ::close(dir_fd);
    return;
  }
  while (dirent* entry = ::readdir(dir)) {
    const char* name = entry->d_name;
    if (std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0) continue;
    struct stat st{};
    if (::fstatat(::dirfd(dir), name, &st, AT_SYMLINK_NOFOLLOW) != 0 || st.st_dev != dev) continue;
    if (S_ISDIR(st.st_mode)) {
      const int child = ::openat(::dirfd(dir), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (child < 0) continue;
      delete_tree_on_device(child, dev);
      ::unlinkat(::dirfd(dir), name, AT_REMOVEDIR);
    } else {
      ::unlinkat(::dirfd(dir), name, 0);
    }
  }
  ::closedir(dir);
}

}  // namespace

Result<void> switch_root(const std::string& new_root) {
  struct stat root_st{}, new_st{};
  if (::stat("/", &root_st) != 0) return fail_errno("stat /", errno);
  if (::stat(new_root.c_str(), &new_st) != 0) return fail_errno("stat " + new_root, errno);
  if (root_st.st_dev == new_st.st_dev) return fail(ErrorCode::internal, new_root + " is not a mounted root disk");

  for (const char* mount : kMovedMounts) {
    const std::string target = new_root + mount;
    ::mkdir(target.c_str(), 0755);  // an image without /run or /tmp still gets them
    if (::mount(mount, target.c_str(), nullptr, MS_MOVE, nullptr) != 0) {
      log_line(std::string("cannot move ") + mount + " into the root disk: " + std::strerror(errno));
    }
  }
  if (::chdir(new_root.c_str()) != 0) return fail_errno("chdir " + new_root, errno);
  // Free the initramfs (modules, busybox): only files on its own device go.
  const int root_fd = ::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd >= 0) delete_tree_on_device(root_fd, root_st.st_dev);
  if (::mount(".", "/", nullptr, MS_MOVE, nullptr) != 0) return fail_errno("move " + new_root + " to /", errno);
  if (::chroot(".") != 0) return fail_errno("chroot into the root disk", errno);
  if (::chdir("/") != 0) return fail_errno("chdir / in the root disk", errno);
  return {};
}

}  // namespace microagent::guestinit
