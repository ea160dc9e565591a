#pragma once
// The real WindowsHost (mingw only): HCS through computecore.dll, HCN through
// computenetwork.dll (both loaded at run time, compute_libraries.hpp),
// AF_HYPERV sockets and the COM1 pipe (win32_channels.hpp). HCS calls are
// synchronous: each creates an operation and waits for its result document.
#include "backends/windows_hyperv/win32/windows_headers.hpp"

#include <map>
#include <mutex>

#include "backends/windows_hyperv/windows_host.hpp"

namespace microagent::windows_hyperv::win32 {

// Does HCS answer this user? HcsEnumerateComputeSystems fails with access
// denied for users that are neither elevated nor Hyper-V Administrators.
HostFact probe_hcs_access();

class Win32WindowsHost : public WindowsHost {
 public:
  ~Win32WindowsHost() override;

  HostCapabilities probe() override;
  supervisor::HostCapacity capacity() override;
  std::string new_guid() override;

  Result<void> create_compute_system(const std::string& id, const std::string& document) override;
  Result<void> start_compute_system(const std::string& id) override;
  Result<void> shutdown_compute_system(const std::string& id, std::chrono::milliseconds timeout) override;
  Result<void> terminate_compute_system(const std::string& id) override;
  Result<ComputeSystemState> compute_system_state(const std::string& id) override;
  Result<std::string> vm_runtime_id(const std::string& id) override;
  void close_compute_system(const std::string& id) override;
  Result<void> grant_vm_access(const std::string& id, const std::filesystem::path& path) override;

  Result<std::vector<HcnNetwork>> enumerate_networks() override;
  Result<HcnNetwork> create_network(const std::string& id, const std::string& settings) override;
  Result<HcnEndpoint> create_endpoint(const std::string& network_id, const std::string& id,
                                      const std::string& settings) override;
  Result<void> delete_endpoint(const std::string& id) override;

  Result<std::unique_ptr<GuestServiceListener>> listen_guest_service(const std::string& compute_system_id,
                                                                     std::uint32_t port) override;
  Result<std::unique_ptr<SerialCapture>> capture_serial(const std::string& pipe, const std::filesystem::path& log) override;
  Result<std::string> guest_request(const std::string& compute_system_id, std::uint32_t port, const std::string& line,
                                    std::chrono::milliseconds timeout) override;

  Result<std::uint32_t> spawn_listener_helper(const ListenerHelperSpec& spec) override;
  bool process_alive(std::uint32_t pid) override;
  void stop_process(std::uint32_t pid) override;

 private:
  // The open handle of compute system `id` (created here or opened by id).
  Result<HCS_SYSTEM> system_handle(const std::string& id);
  // The properties document (State, RuntimeId, ...) of compute system `id`.
  Result<std::string> properties(const std::string& id);

  std::mutex mutex_;
  std::map<std::string, HCS_SYSTEM> systems_;
};

}  // namespace microagent::windows_hyperv::win32
