#include "backends/windows_hyperv/win32/compute_libraries.hpp"

#include <vector>

#include "backends/windows_hyperv/win32/win32_error.hpp"

namespace microagent::windows_hyperv::win32 {

namespace {

// System32 only: a DLL of the same name beside the .exe or in the current
// directory must never be picked up instead.
HMODULE load_system_library(const wchar_t* name, std::string& why) {
  HMODULE module = LoadLibraryExW(name, nullptr, LOAD_LIBRARY_SEARCH_SYSTEM32);
  if (!module) why = narrow(name) + " could not be loaded: " + system_message(GetLastError());
  return module;
}

// Looks `name` up in each module in turn; records the first one missing.
template <class Fn>
void bind(Fn& slot, const char* name, const std::vector<HMODULE>& modules, std::string& missing) {
  for (HMODULE module : modules) {
    if (!module) continue;
    if (auto proc = GetProcAddress(module, name)) {
      slot = reinterpret_cast<Fn>(reinterpret_cast<void*>(proc));
      return;
    }
  }
  if (missing.empty()) missing = name;
}

HcsFunctions load_hcs() {
  HcsFunctions f;
  std::string why_core;
  HMODULE core = load_system_library(L"computecore.dll", why_core);
  if (!core) {
    f.detail = why_core + "; the Host Compute Service (Hyper-V) is not installed on this host";
    return f;
  }
  const std::vector<HMODULE> modules{core};
  std::string missing;
  bind(f.CreateOperation, "HcsCreateOperation", modules, missing);
  bind(f.CloseOperation, "HcsCloseOperation", modules, missing);
  bind(f.WaitForOperationResult, "HcsWaitForOperationResult", modules, missing);
  bind(f.CreateComputeSystem, "HcsCreateComputeSystem", modules, missing);
  bind(f.OpenComputeSystem, "HcsOpenComputeSystem", modules, missing);
  bind(f.CloseComputeSystem, "HcsCloseComputeSystem", modules, missing);
  bind(f.StartComputeSystem, "HcsStartComputeSystem", modules, missing);
  bind(f.ShutDownComputeSystem, "HcsShutDownComputeSystem", modules, missing);
  bind(f.TerminateComputeSystem, "HcsTerminateComputeSystem", modules, missing);
  bind(f.GetComputeSystemProperties, "HcsGetComputeSystemProperties", modules, missing);
  bind(f.EnumerateComputeSystems, "HcsEnumerateComputeSystems", modules, missing);
  if (!f.GrantVmAccess) {
    // Older hosts export HcsGrantVmAccess from vmcompute.dll only.
    std::string ignored;
    bind(f.GrantVmAccess, "HcsGrantVmAccess", {core, load_system_library(L"vmcompute.dll", ignored)}, missing);
  }
  if (!missing.empty()) {
    f.detail = "computecore.dll lacks " + missing + ": this Windows is older than 10 1809 / Server 2019";
    return f;
  }
  f.loaded = true;
  f.detail = "computecore.dll loaded";
  return f;
}

HcnFunctions load_hcn() {
  HcnFunctions f;
  std::string why;
  HMODULE module = load_system_library(L"computenetwork.dll", why);
  if (!module) {
    f.detail = why + "; the Host Network Service is not installed";
    return f;
  }
  const std::vector<HMODULE> modules{module};
  std::string missing;
  bind(f.EnumerateNetworks, "HcnEnumerateNetworks", modules, missing);
  bind(f.CreateNetwork, "HcnCreateNetwork", modules, missing);
  bind(f.OpenNetwork, "HcnOpenNetwork", modules, missing);
  bind(f.QueryNetworkProperties, "HcnQueryNetworkProperties", modules, missing);
  bind(f.CloseNetwork, "HcnCloseNetwork", modules, missing);
  bind(f.CreateEndpoint, "HcnCreateEndpoint", modules, missing);
  bind(f.QueryEndpointProperties, "HcnQueryEndpointProperties", modules, missing);
  bind(f.DeleteEndpoint, "HcnDeleteEndpoint", modules, missing);
  bind(f.CloseEndpoint, "HcnCloseEndpoint", modules, missing);
  if (!missing.empty()) {
    f.detail = "computenetwork.dll lacks " + missing;
    return f;
  }
  f.loaded = true;
  f.detail = "computenetwork.dll loaded";
  return f;
}

}  // namespace

const HcsFunctions& hcs_functions() {
  static const HcsFunctions functions = load_hcs();
  return functions;
}

const HcnFunctions& hcn_functions() {
  static const HcnFunctions functions = load_hcn();
  return functions;
}

}  // namespace microagent::windows_hyperv::win32
