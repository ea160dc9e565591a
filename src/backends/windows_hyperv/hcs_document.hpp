#pragma once
// The HCS compute-system document (schema 2.1) for a Linux guest booted
// kernel-direct: a pure function of a ComputeSystemSpec, no side effects.
// Field names are those of hcsshim's internal/hcs/schema2 (ComputeSystem,
// VirtualMachine, Chipset.LinuxKernelDirect, Topology, Scsi/Attachment,
// HvSocket2/HvSocketSystemConfig/HvSocketServiceConfig, ComPort, NetworkAdapter).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace microagent::windows_hyperv {

struct ScsiDisk {
  std::string path;  // a fixed VHD the VM was granted access to
  bool read_only = false;
};

struct NetworkAdapter {
  std::string endpoint_id;  // HCN endpoint GUID; also the adapter's key
  std::string mac_address;  // "00-15-5D-..": as HCN reports it
};

struct ComputeSystemSpec {
  std::string owner = "microagent";
  // true for a foreground run (the VM dies with the supervisor's handle);
  // false for `start`, where the VM outlives the supervisor process.
  bool terminate_on_last_handle_closed = true;
  std::string kernel_path;
  std::string initrd_path;
  std::string kernel_cmdline;
  std::int64_t memory_mib = 256;
  std::int64_t cpu_count = 1;
  std::vector<ScsiDisk> disks;  // LUN "0", "1", ...: the root disk first
  std::vector<std::uint32_t> vsock_ports;  // services the guest may connect to
  std::string com1_pipe;  // \\.\pipe\...; empty: no COM1
  std::optional<NetworkAdapter> adapter;
};

// Who may bind and connect Hyper-V sockets of this VM: SYSTEM and the
// built-in Administrators (SDDL), as hcsshim grants its utility VMs.
inline constexpr std::string_view kHvSocketSecurityDescriptor = "D:P(A;;FA;;;SY)(A;;FA;;;BA)";

nlohmann::json compute_system_document(const ComputeSystemSpec& spec);

// The named pipe HCS serves the guest's COM1 on: \\.\pipe\microagent-<runtimeID>-com1.
std::string com1_pipe_name(std::string_view runtime_id);

}  // namespace microagent::windows_hyperv
