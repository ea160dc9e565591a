#pragma once
// Which virtio-blk drive a workspace's disks get, and what guest init mounts
// where. Pure: paths in, QEMU drives and guest mounts out. Drives are named
// /dev/vda, /dev/vdb... in attach order: the root disk (an image's
// copy-on-write overlay) or, without an image, a started workspace's
// /workspace disk comes first; data disks follow in the order given.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "backends/linux_kvm/qemu_command.hpp"
#include "common/error.hpp"
#include "common/guest_wire.hpp"
#include "protocol/types.hpp"

namespace microagent::linux_kvm {

// virtio-mmio transports on microvm, less the vsock device and a NIC.
inline constexpr std::size_t kMaxDisks = 20;

struct WorkspaceDisks {
  std::optional<QemuDisk> root;       // mounted as / (guest init switches root)
  std::optional<QemuDisk> workspace;  // mounted at /workspace
  std::vector<protocol::DiskSpec> data;
};

struct DiskAttachment {
  std::vector<QemuDisk> drives;
  std::string root_device;        // "" when the guest runs from the initramfs
  std::vector<GuestDisk> mounts;  // what guest init mounts after the switch
};

// "/dev/vda" for index 0, "/dev/vdb" for 1...
std::string virtio_block_device(std::size_t index);

Result<DiskAttachment> lay_out_disks(const WorkspaceDisks& disks);

}  // namespace microagent::linux_kvm
