#pragma once
// A workspace's disks on Hyper-V: the root disk <workspace>/rootfs.vhd from
// config.rootfsPath (ext4) and each config.disks[i] as <workspace>/disk-<i>.vhd,
// all fixed VHDs written with image/vhd, on SCSI controller 0 in that order
// (guest: /dev/sda, /dev/sdb, ...). Disk mode maps to the attachment's
// ReadOnly flag and to the guest mount mode.
#include <filesystem>
#include <string>
#include <vector>

#include "backends/windows_hyperv/hcs_document.hpp"
#include "common/error.hpp"
#include "common/guest_wire.hpp"
#include "protocol/types.hpp"

namespace microagent::windows_hyperv {

struct WorkspaceDisks {
  std::vector<ScsiDisk> scsi;         // LUN order
  std::string root_device;            // "/dev/sda", or empty: run from the initramfs
  std::vector<GuestDisk> guest_disks; // data disks as the guest mounts them
};

// The guest's name for SCSI LUN n: /dev/sda, /dev/sdb, ... /dev/sdz, /dev/sdaa.
std::string scsi_device_name(std::size_t lun);

// Validates modes and sources without writing anything (check, prepare's first step).
Result<void> validate_disk_config(const protocol::WorkspaceConfig& config);

// Writes the VHDs that do not exist yet (a halted workspace keeps its disks)
// and describes them. On failure nothing half-written is left.
Result<WorkspaceDisks> ensure_workspace_disks(const protocol::WorkspaceConfig& config,
                                              const std::filesystem::path& workspace_dir);

}  // namespace microagent::windows_hyperv
