// Win32WindowsHost's HCS half: one HCS_OPERATION per call, waited on
// synchronously; a failed call's result document (HCS's error record) is
// carried into the message.
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "backends/windows_hyperv/win32/compute_libraries.hpp"
#include "backends/windows_hyperv/win32/win32_channels.hpp"
#include "backends/windows_hyperv/win32/win32_error.hpp"
#include "backends/windows_hyperv/win32/win32_windows_host.hpp"

namespace microagent::windows_hyperv::win32 {

namespace {

// HCS_E_SYSTEM_NOT_FOUND: no compute system with that id.
constexpr HRESULT kSystemNotFound = static_cast<HRESULT>(0x8037010FL);

Result<const HcsFunctions*> hcs() {
  const auto& f = hcs_functions();
  if (!f.loaded) return fail(ErrorCode::host_unavailable, f.detail);
  return &f;
}

// Runs `call(operation)`, waits `timeout_ms` for it, returns the result document.
template <class Call>
Result<std::string> run_operation(const HcsFunctions& f, std::string_view what, Call call, DWORD timeout_ms = INFINITE) {
  HCS_OPERATION operation = f.CreateOperation(nullptr, nullptr);
  if (!operation) return fail(ErrorCode::internal, std::string(what) + ": HcsCreateOperation failed");
  HRESULT hr = call(operation);
  PWSTR result = nullptr;
  if (SUCCEEDED(hr)) hr = f.WaitForOperationResult(operation, timeout_ms, &result);
  std::string document = result ? narrow(result) : std::string();
  if (result) LocalFree(result);
  f.CloseOperation(operation);
  if (FAILED(hr)) {
    if (hr == kSystemNotFound) return fail(ErrorCode::not_found, std::string(what) + ": no such compute system");
    return fail_hresult(what, hr, document);
  }
  return document;
}

}  // namespace

HostFact probe_hcs_access() {
  auto f = hcs();
  if (!f) return {false, "not checked: " + f.error().message};
  auto listed = run_operation(**f, "HcsEnumerateComputeSystems",
                              [&](HCS_OPERATION op) { return (*f)->EnumerateComputeSystems(L"{}", op); });
  if (listed) return {true, "HCS answers this user (compute systems can be listed)"};
  if (listed.error().code == ErrorCode::permission_denied) {
    return {false, "HCS denied access to this user: " + listed.error().message};
  }
  return {false, "HCS did not answer: " + listed.error().message};
}

Win32WindowsHost::~Win32WindowsHost() {
  const auto& f = hcs_functions();
  if (!f.loaded) return;
  for (auto& [id, system] : systems_) f.CloseComputeSystem(system);
}

Result<HCS_SYSTEM> Win32WindowsHost::system_handle(const std::string& id) {
  auto f = hcs();
  if (!f) return std::unexpected(f.error());
  std::lock_guard lock(mutex_);
  if (auto it = systems_.find(id); it != systems_.end()) return it->second;
  HCS_SYSTEM system = nullptr;
  const HRESULT hr = (*f)->OpenComputeSystem(widen(id).c_str(), GENERIC_ALL, &system);
  if (hr == kSystemNotFound) return fail(ErrorCode::not_found, "no compute system " + id);
  if (FAILED(hr)) return fail_hresult("HcsOpenComputeSystem " + id, hr);
  systems_[id] = system;
  return system;
}

Result<void> Win32WindowsHost::create_compute_system(const std::string& id, const std::string& document) {
  auto f = hcs();
  if (!f) return std::unexpected(f.error());
  HCS_SYSTEM system = nullptr;
  const std::wstring wid = widen(id), wdoc = widen(document);
  auto done = run_operation(**f, "HcsCreateComputeSystem " + id, [&](HCS_OPERATION op) {
    return (*f)->CreateComputeSystem(wid.c_str(), wdoc.c_str(), op, nullptr, &system);
  });
  if (!done) {
    if (system) (*f)->CloseComputeSystem(system);
    return std::unexpected(done.error());
  }
  std::lock_guard lock(mutex_);
  systems_[id] = system;
  return {};
}

Result<void> Win32WindowsHost::start_compute_system(const std::string& id) {
  auto system = system_handle(id);
  if (!system) return std::unexpected(system.error());
  const auto& f = hcs_functions();
  auto done = run_operation(f, "HcsStartComputeSystem " + id,
                            [&](HCS_OPERATION op) { return f.StartComputeSystem(*system, op, nullptr); });
  if (!done) return std::unexpected(done.error());
  return {};
}

Result<void> Win32WindowsHost::shutdown_compute_system(const std::string& id, std::chrono::milliseconds timeout) {
  auto system = system_handle(id);
  if (!system) return std::unexpected(system.error());
  const auto& f = hcs_functions();
  auto done = run_operation(
      f, "HcsShutDownComputeSystem " + id, [&](HCS_OPERATION op) { return f.ShutDownComputeSystem(*system, op, nullptr); },
      static_cast<DWORD>(timeout.count()));
  if (!done) return std::unexpected(done.error());
  return {};
}

Result<void> Win32WindowsHost::terminate_compute_system(const std::string& id) {
  auto system = system_handle(id);
  if (!system) return std::unexpected(system.error());
  const auto& f = hcs_functions();
  auto done = run_operation(f, "HcsTerminateComputeSystem " + id,
                            [&](HCS_OPERATION op) { return f.TerminateComputeSystem(*system, op, nullptr); });
  if (!done && done.error().code != ErrorCode::not_found) return std::unexpected(done.error());
  return {};
}

Result<std::string> Win32WindowsHost::properties(const std::string& id) {
  auto system = system_handle(id);
  if (!system) return std::unexpected(system.error());
  const auto& f = hcs_functions();
  return run_operation(f, "HcsGetComputeSystemProperties " + id,
                       [&](HCS_OPERATION op) { return f.GetComputeSystemProperties(*system, op, nullptr); });
}

Result<ComputeSystemState> Win32WindowsHost::compute_system_state(const std::string& id) {
  auto document = properties(id);
  if (!document) {
    if (document.error().code == ErrorCode::not_found) return ComputeSystemState::absent;
    return std::unexpected(document.error());
  }
  const auto json = nlohmann::json::parse(*document, nullptr, false);
  const std::string state = json.is_object() ? json.value("State", "") : "";
  if (state == "Created") return ComputeSystemState::created;
  if (state == "Running") return ComputeSystemState::running;
  if (state == "Paused") return ComputeSystemState::paused;
  return ComputeSystemState::stopped;
}

void Win32WindowsHost::close_compute_system(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto it = systems_.find(id);
  if (it == systems_.end()) return;
  hcs_functions().CloseComputeSystem(it->second);
  systems_.erase(it);
}

Result<void> Win32WindowsHost::grant_vm_access(const std::string& id, const std::filesystem::path& path) {
  auto f = hcs();
  if (!f) return std::unexpected(f.error());
  const HRESULT hr = (*f)->GrantVmAccess(widen(id).c_str(), path.wstring().c_str());
  if (FAILED(hr)) return fail_hresult("HcsGrantVmAccess " + path.string(), hr);
  return {};
}

Result<std::string> Win32WindowsHost::vm_runtime_id(const std::string& id) {
  auto document = properties(id);
  if (!document) return std::unexpected(document.error());
  const auto json = nlohmann::json::parse(*document, nullptr, false);
  const std::string runtime_id = json.is_object() ? json.value("RuntimeId", "") : "";
  if (runtime_id.empty()) return fail(ErrorCode::internal, "HCS reported no RuntimeId for " + id);
  return runtime_id;
}

Result<std::string> Win32WindowsHost::guest_request(const std::string& compute_system_id, std::uint32_t port,
                                                    const std::string& line, std::chrono::milliseconds timeout) {
  auto document = properties(compute_system_id);
  if (!document) return std::unexpected(document.error());
  const auto json = nlohmann::json::parse(*document, nullptr, false);
  const std::string runtime_id = json.is_object() ? json.value("RuntimeId", "") : "";
  if (runtime_id.empty()) return fail(ErrorCode::internal, "HCS reported no RuntimeId for " + compute_system_id);
  return hvsocket_request(runtime_id, port, line, timeout);
}

Result<std::unique_ptr<GuestServiceListener>> Win32WindowsHost::listen_guest_service(const std::string& compute_system_id,
                                                                                     std::uint32_t port) {
  auto document = properties(compute_system_id);
  if (!document) return std::unexpected(document.error());
  const auto json = nlohmann::json::parse(*document, nullptr, false);
  const std::string runtime_id = json.is_object() ? json.value("RuntimeId", "") : "";
  return listen_hvsocket(runtime_id, port, [this, compute_system_id] {
    auto state = compute_system_state(compute_system_id);
    return !state || *state == ComputeSystemState::created || *state == ComputeSystemState::running ||
           *state == ComputeSystemState::paused;
  });
}

}  // namespace microagent::windows_hyperv::win32
