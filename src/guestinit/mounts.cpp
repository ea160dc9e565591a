#include "guestinit/mounts.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace microagent::guestinit {
namespace {

struct EarlyMount {
  const char* source;
  const char* target;
  const char* type;
  unsigned long flags;
  const char* options;
};

// Order matters: /dev/pts lives inside the devtmpfs on /dev.
constexpr EarlyMount kEarlyMounts[] = {
    {"proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr},
    {"sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr},
    {"devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755"},
    {"devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "ptmxmode=0666,mode=0620,gid=5"},
    {"tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"},
    {"tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"},
};

// mkdir -p; an existing directory is fine.
Result<void> make_directories(const std::string& path) {
  for (std::size_t pos = 1; pos <= path.size(); ++pos) {
    if (pos != path.size() && path[pos] != '/') continue;
    const std::string prefix = path.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      return fail_errno("create " + prefix, errno);
    }
  }
  return {};
}

}  // namespace

std::vector<std::string> mount_early_filesystems() {
  std::vector<std::string> failures;
  for (const auto& m : kEarlyMounts) {
    if (auto made = make_directories(m.target); !made) {
      failures.push_back(made.error().message);
      continue;
    }
    // EBUSY: the kernel (CONFIG_DEVTMPFS_MOUNT) or a previous stage mounted it already.
    if (::mount(m.source, m.target, m.type, m.flags, m.options) != 0 && errno != EBUSY) {
      failures.push_back(std::string("mount ") + m.type + " on " + m.target + ": " + std::strerror(errno));
    }
  }
  return failures;
}

void attach_console() {
  const int fd = ::open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return;  // nowhere to log; keep whatever fds we have
  for (int target = 0; target <= 2; ++target) ::dup2(fd, target);  // dup2 clears O_CLOEXEC
  if (fd > 2) ::close(fd);
}

Result<void> mount_ext4(const std::string& device, const std::string& mount_point, bool read_only) {
  if (auto made = make_directories(mount_point); !made) return made;
  const unsigned long flags = read_only ? MS_RDONLY : 0;
  if (::mount(device.c_str(), mount_point.c_str(), "ext4", flags, nullptr) != 0) {
    return fail_errno("mount " + device + " (ext4) on " + mount_point, errno);
  }
  return {};
}

Result<void> mount_guest_disks(const std::vector<GuestDisk>& disks) {
  for (const auto& disk : disks) {
    if (auto mounted = mount_ext4(disk.device, disk.mount, disk.read_only); !mounted) return mounted;
  }
  return {};
}

}  // namespace microagent::guestinit
