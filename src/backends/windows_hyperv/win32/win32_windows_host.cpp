// Win32WindowsHost: probing the host, ids, channels and processes. The HCS
// and HCN calls are in hcs_calls.cpp and hcn_calls.cpp.
#include "backends/windows_hyperv/win32/win32_windows_host.hpp"

#include <cpuid.h>
#include "backends/windows_hyperv/win32/windows_headers.hpp"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "backends/windows_hyperv/win32/compute_libraries.hpp"
#include "backends/windows_hyperv/win32/listener_helper.hpp"
#include "backends/windows_hyperv/win32/win32_channels.hpp"
#include "backends/windows_hyperv/win32/win32_error.hpp"

namespace microagent::windows_hyperv::win32 {

namespace {

// CPUID leaf 1, ECX bit 31: a hypervisor runs beneath this OS. With Hyper-V
// enabled, Windows itself is the root partition, so the bit is set.
HostFact probe_virtualization() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  const bool hypervisor = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 31)) != 0;
  // PF_VIRT_FIRMWARE_ENABLED (21): VT-x/AMD-V enabled in firmware (meaningful before Hyper-V is on).
  const bool firmware = IsProcessorFeaturePresent(21);
  if (hypervisor) return {true, "a hypervisor is running beneath Windows (Hyper-V root partition)"};
  if (firmware) return {false, "virtualization is enabled in firmware but no hypervisor runs: Hyper-V is not enabled"};
  return {false, "no hypervisor runs and the firmware reports no virtualization support"};
}

HostFact probe_hcn() {
  const auto& f = hcn_functions();
  if (!f.loaded) return {false, f.detail};
  PWSTR ids = nullptr, error = nullptr;
  const HRESULT hr = f.EnumerateNetworks(L"{}", &ids, &error);
  if (ids) CoTaskMemFree(ids);
  if (error) CoTaskMemFree(error);
  if (FAILED(hr)) return {false, "the Host Network Service did not answer: " + system_message(static_cast<DWORD>(hr))};
  return {true, "computenetwork.dll loaded and HNS answers"};
}

}  // namespace

HostCapabilities Win32WindowsHost::probe() {
  HostCapabilities caps;
  const auto& hcs = hcs_functions();
  caps.hcs = {hcs.loaded, hcs.detail};
  caps.virtualization = probe_virtualization();
  caps.hcs_access = probe_hcs_access();
  caps.hcn = probe_hcn();
  caps.hvsocket = probe_hvsocket();
  caps.named_pipes = {true, "named pipes (\\\\.\\pipe\\) are available for COM1"};
  return caps;
}

supervisor::HostCapacity Win32WindowsHost::capacity() {
  supervisor::HostCapacity host;
  MEMORYSTATUSEX memory{};
  memory.dwLength = sizeof memory;
  if (GlobalMemoryStatusEx(&memory)) host.memory_mib = static_cast<std::int64_t>(memory.ullTotalPhys / (1024 * 1024));
  host.online_cpus = GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
  return host;
}

std::string Win32WindowsHost::new_guid() {
  UUID uuid{};
  UuidCreate(&uuid);
  RPC_CSTR text = nullptr;
  UuidToStringA(&uuid, &text);
  std::string out = text ? reinterpret_cast<const char*>(text) : "";
  if (text) RpcStringFreeA(&text);
  return out;
}

Result<std::unique_ptr<SerialCapture>> Win32WindowsHost::capture_serial(const std::string& pipe,
                                                                        const std::filesystem::path& log) {
  return capture_com1(pipe, log);
}

Result<std::uint32_t> Win32WindowsHost::spawn_listener_helper(const ListenerHelperSpec& spec) {
  auto document = properties(spec.compute_system_id);
  if (!document) return std::unexpected(document.error());
  const auto json = nlohmann::json::parse(*document, nullptr, false);
  return spawn_listener_helper_process(spec, json.is_object() ? json.value("RuntimeId", "") : "");
}

bool Win32WindowsHost::process_alive(std::uint32_t pid) {
  HANDLE process = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
  if (!process) return false;
  DWORD code = 0;
  const bool alive = GetExitCodeProcess(process, &code) && code == STILL_ACTIVE;
  CloseHandle(process);
  return alive;
}

void Win32WindowsHost::stop_process(std::uint32_t pid) {
  HANDLE process = OpenProcess(PROCESS_TERMINATE | SYNCHRONIZE, FALSE, pid);
  if (!process) return;
  TerminateProcess(process, 1);
  WaitForSingleObject(process, 5000);
  CloseHandle(process);
}

}  // namespace microagent::windows_hyperv::win32
