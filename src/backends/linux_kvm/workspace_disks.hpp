#pragma once
// The disks of a started workspace under <state>/workspaces/<id>/: an image's
// copy-on-write root overlay (rootfs.qcow2, which keeps every write across
// halt and start) or, for the default image, the /workspace disk
// (workspace.ext4); and the manifest that records what the workspace boots.
#include "backends/linux_kvm/guest_launch.hpp"
#include "common/error.hpp"
#include "protocol/types.hpp"
#include "supervisor/runtime_store.hpp"

namespace microagent::linux_kvm {

LaunchDisks started_disks(const supervisor::RuntimeStore& store, const protocol::WorkspaceConfig& config);

// Creates what started_disks() names (once) and records the manifest. An image
// workspace started without its image, or over a changed base, is `conflict`.
Result<void> ensure_started_disks(const supervisor::RuntimeStore& store, const protocol::WorkspaceConfig& config,
                                  const LaunchDisks& disks);

// inspect: the recorded manifest; with `verify` (status) every hash computed
// again, and what diverged named in the event's detail.
void attach_manifest(protocol::Event& event, const supervisor::RuntimeStore& store, bool verify);

}  // namespace microagent::linux_kvm
