#pragma once
// runtime.json of a linux-kvm (and wsl2) workspace, typed: who owns the VM
// (a foreground run's supervisor, a starting supervisor, then the runtime
// shim), its QEMU and sockets, its network (to tear down), and how it ended.
// One writer (write_runtime_record) for the supervisor, the shim and the
// lifecycle; every reader (reconcile, connect, `network`) goes through
// read_runtime_record. The file is host-written, yet read defensively: a
// field of the wrong type reads as absent. (windows-hyperv's runtime.json is
// windows_hyperv::VmRecord.)
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "net/network_plan.hpp"
#include "supervisor/runtime_store.hpp"

namespace microagent::supervisor {

struct RuntimeSockets {
  std::string vhost_user;  // QEMU <-> the vsock device
  std::string vsock;       // hybrid vsock host end
  std::string qmp;
  std::string serial_in;   // console input (started workspaces)
};

// What the host set up for the guest's network, as cleanup needs it.
struct RuntimeNetwork {
  net::NetworkAssignment assignment;
  std::string runtime_key;  // the nat lease's owner
  pid_t passt_pid = 0;      // user networking's passt
  std::string passt_dir;
};

struct DegradedComponent {
  std::string component;  // "passt"
  std::string at;
  std::string detail;
};

struct RuntimeRecord {
  std::string backend = "linux-kvm";
  std::string runtime_id;
  pid_t supervisor_pid = 0;  // a foreground run's supervisor; a start's, until the shim writes
  pid_t shim_pid = 0;        // a started workspace's runtime shim
  bool foreground = false;
  pid_t qemu_pid = 0;
  std::vector<std::string> qemu_argv;
  std::string accel, accel_reason;
  std::string kernel_path, initrd_path, rootfs_path, kernel_cmdline;
  std::string vsock_device;
  std::optional<RuntimeSockets> sockets;
  std::optional<RuntimeNetwork> network;
  std::string started_at;
  std::string severed_at;  // quarantine cut the network and listeners
  std::vector<DegradedComponent> degraded;
  bool qemu_exited = false;
  std::string exited_at;
  std::string qemu_exit;  // how QEMU ended ("exited with status 0", "killed by signal 9")
};

nlohmann::json to_json(const RuntimeNetwork& network);
RuntimeNetwork runtime_network_from_json(const nlohmann::json& json);
nlohmann::json to_json(const RuntimeRecord& record);
RuntimeRecord runtime_record_from_json(const nlohmann::json& json);

Result<void> write_runtime_record(const RuntimeStore& store, const RuntimeRecord& record);
// nullopt when runtime.json is absent; an error when it is there but unreadable or not JSON.
Result<std::optional<RuntimeRecord>> read_runtime_record(const RuntimeStore& store);

}  // namespace microagent::supervisor
