#pragma once
// The narrow interface to everything Windows: HCS compute systems, HCN
// networks and endpoints, Hyper-V sockets, the COM1 named pipe, the detached
// listener helper. The real driver (win32/, mingw only) loads computecore.dll
// and computenetwork.dll at run time; tests drive the backend with a fake.
// Ids are strings: the HCS compute-system id, HCN GUIDs in canonical form.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "protocol/types.hpp"
#include "supervisor/host_fit.hpp"

namespace microagent::windows_hyperv {

// One fact doctor reports; `ok` false carries what was seen in `detail`.
struct HostFact {
  bool ok = false;
  std::string detail;
};

// What the host offers, for `host`, `check` and doctor (doctor_checks.hpp).
struct HostCapabilities {
  HostFact hcs;             // computecore.dll (or vmcompute.dll) loaded with every function
  HostFact virtualization;  // a hypervisor is present and running
  HostFact hcs_access;      // HCS answers this user (administrator or Hyper-V Administrators)
  HostFact hcn;             // computenetwork.dll loaded, HNS answers
  HostFact hvsocket;        // an AF_HYPERV socket can be created
  HostFact named_pipes;     // COM1 capture through \\.\pipe\ (console capability)
};

enum class ComputeSystemState { absent, created, running, paused, stopped };

struct HcnNetwork {
  std::string id;
  std::string name;
  std::string type;  // "NAT", "Transparent", "ICS", ...
};

struct HcnEndpoint {
  std::string id;
  std::string network_id;
  std::string mac_address;
  std::string ip_address;
};

// A Hyper-V socket listener for one guest service of one VM.
class GuestServiceListener {
 public:
  virtual ~GuestServiceListener() = default;
  // Accepts the guest's connection and reads until it closes; timeout when
  // nothing arrived in time (nullopt: wait until the VM stops).
  virtual Result<std::string> receive(std::optional<std::chrono::milliseconds> timeout) = 0;
};

// Copies the guest's COM1 (an HCS named pipe) into serial.log while alive.
class SerialCapture {
 public:
  virtual ~SerialCapture() = default;
  // Drains what is buffered, appends it, stops. Idempotent.
  virtual void finish() = 0;
};

// The detached listener helper of a started workspace: published ports
// (host TCP -> guest Hyper-V socket service = the host port), the mediation
// target, COM1 capture and result delivery; logs to hvsock-listener.log.
struct ListenerHelperSpec {
  std::string runtime_id;
  std::string compute_system_id;
  std::filesystem::path runtime_dir;  // result.json, serial.log, hvsock-listener.log
  std::string com1_pipe;
  std::uint32_t result_port = 1024;
  std::vector<protocol::PortForward> port_forwards;
  std::optional<protocol::MediationSpec> mediation;
};

class WindowsHost {
 public:
  virtual ~WindowsHost() = default;

  virtual HostCapabilities probe() = 0;
  // Physical memory and logical processors, checked before a VM is made.
  virtual supervisor::HostCapacity capacity() = 0;
  virtual std::string new_guid() = 0;

  // HCS (computecore.dll). create_compute_system leaves the system created
  // but not started; the handle stays open in this process until close.
  virtual Result<void> create_compute_system(const std::string& id, const std::string& document) = 0;
  virtual Result<void> start_compute_system(const std::string& id) = 0;
  // Asks the guest to shut down; timeout when it is still running after `timeout`.
  virtual Result<void> shutdown_compute_system(const std::string& id, std::chrono::milliseconds timeout) = 0;
  virtual Result<void> terminate_compute_system(const std::string& id) = 0;
  virtual Result<ComputeSystemState> compute_system_state(const std::string& id) = 0;
  // HCS properties "RuntimeId" of a created system: the VmId Hyper-V sockets
  // address it by (recorded by `start` for `connect`).
  virtual Result<std::string> vm_runtime_id(const std::string& id) = 0;
  virtual void close_compute_system(const std::string& id) = 0;
  // HcsGrantVmAccess: the VM's worker process may open `path` (VHDs, kernel, initrd).
  virtual Result<void> grant_vm_access(const std::string& id, const std::filesystem::path& path) = 0;

  // HCN (computenetwork.dll).
  virtual Result<std::vector<HcnNetwork>> enumerate_networks() = 0;
  virtual Result<HcnNetwork> create_network(const std::string& id, const std::string& settings) = 0;
  virtual Result<HcnEndpoint> create_endpoint(const std::string& network_id, const std::string& id,
                                              const std::string& settings) = 0;
  // not_found when the endpoint is already gone.
  virtual Result<void> delete_endpoint(const std::string& id) = 0;

  // Hyper-V sockets and COM1; the listener exists before the VM starts.
  virtual Result<std::unique_ptr<GuestServiceListener>> listen_guest_service(const std::string& compute_system_id,
                                                                             std::uint32_t port) = 0;
  virtual Result<std::unique_ptr<SerialCapture>> capture_serial(const std::string& pipe,
                                                                const std::filesystem::path& log) = 0;
  // Host-initiated: connects to the guest's service `port`, sends `line`,
  // returns the guest's one-line reply (guest init's control port, 1026).
  virtual Result<std::string> guest_request(const std::string& compute_system_id, std::uint32_t port,
                                            const std::string& line, std::chrono::milliseconds timeout) = 0;

  // The detached listener helper (a process); its pid goes into runtime.json.
  virtual Result<std::uint32_t> spawn_listener_helper(const ListenerHelperSpec& spec) = 0;
  virtual bool process_alive(std::uint32_t pid) = 0;
  virtual void stop_process(std::uint32_t pid) = 0;
};

}  // namespace microagent::windows_hyperv
