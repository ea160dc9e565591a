#pragma once
// What runtime.json records of a windows-hyperv VM (its HCS identity, network
// ids, the listener helper) and the one teardown every path that ends a VM
// goes through, so no endpoint, helper or compute-system handle outlives it.
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "backends/windows_hyperv/network_attachment.hpp"
#include "backends/windows_hyperv/windows_host.hpp"
#include "supervisor/runtime_store.hpp"

namespace microagent::windows_hyperv {

struct VmRecord {
  std::string compute_system_id;   // empty: no compute system was ever created
  bool detached = false;
  std::string com1_pipe;
  std::optional<NetworkAttachment> network;
  std::uint32_t listener_pid = 0;  // detached listener helper, 0 when none
  bool exited = false;             // the compute system is known to be gone
  nlohmann::json extra = nlohmann::json::object();  // startedAt, kernel, document...
};

nlohmann::json to_json(const VmRecord& record);
VmRecord vm_record_from_json(const nlohmann::json& runtime);
// {} record when runtime.json is absent or unreadable.
VmRecord read_vm_record(const supervisor::RuntimeStore& store);

// Is the recorded compute system still there (created, running or paused)?
bool vm_alive(WindowsHost& host, const VmRecord& record);

enum class VmEnd { shutdown, terminate };

// Ends what the record owns, in order: the listener helper (published ports,
// mediation, COM1 capture), the VM (shutdown: guest init's control-port halt,
// else HcsShutDownComputeSystem, else terminate), its HCS handle, then the
// network endpoint; rewrites runtime.json (endpoint and
// helper cleared, exited). Every step runs even when an earlier one failed;
// the first failure is returned. `how` says what ended the VM, for the detail;
// `grace` is what a shutdown gives the guest's processes before SIGKILL.
Result<void> end_vm(WindowsHost& host, const supervisor::RuntimeStore& store, VmRecord& record, VmEnd how,
                    std::chrono::seconds grace = std::chrono::seconds(2));

}  // namespace microagent::windows_hyperv
