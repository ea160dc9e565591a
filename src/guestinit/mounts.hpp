#pragma once
// Filesystems PID 1 sets up before anything else, and the workload's disks.
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/guest_wire.hpp"

namespace microagent::guestinit {

// Where rootDevice is mounted before guest init switches root into it.
inline constexpr const char* kNewRoot = "/newroot";

// proc, sysfs, devtmpfs, devpts and two tmpfs. Returns what failed (an
// already-mounted target is not a failure); a guest goes on without, say, /run.
std::vector<std::string> mount_early_filesystems();

// Points fds 0, 1 and 2 at /dev/console. An initramfs without a /dev/console
// node starts init with no fds at all; devtmpfs provides the node.
void attach_console();

// Creates the mount point (and parents) and mounts an ext4 device there.
Result<void> mount_ext4(const std::string& device, const std::string& mount_point, bool read_only);

// Mounts every disks[] entry; stops at the first failure (the workload expects its data).
Result<void> mount_guest_disks(const std::vector<GuestDisk>& disks);

}  // namespace microagent::guestinit
