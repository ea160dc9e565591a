#pragma once
// computecore.dll (HCS; vmcompute.dll for what an older host has only there)
// and computenetwork.dll (HCN), loaded at run time from System32 so a host
// without them answers host_unavailable with the reason instead of failing to
// start. Function types come from mingw-w64's computecore.h/computenetwork.h.
#include "backends/windows_hyperv/win32/windows_headers.hpp"

#include <string>

namespace microagent::windows_hyperv::win32 {

struct HcsFunctions {
  bool loaded = false;
  std::string detail;  // what was loaded, or why not
  decltype(&::HcsCreateOperation) CreateOperation = nullptr;
  decltype(&::HcsCloseOperation) CloseOperation = nullptr;
  decltype(&::HcsWaitForOperationResult) WaitForOperationResult = nullptr;
  decltype(&::HcsCreateComputeSystem) CreateComputeSystem = nullptr;
  decltype(&::HcsOpenComputeSystem) OpenComputeSystem = nullptr;
  decltype(&::HcsCloseComputeSystem) CloseComputeSystem = nullptr;
  decltype(&::HcsStartComputeSystem) StartComputeSystem = nullptr;
  decltype(&::HcsShutDownComputeSystem) ShutDownComputeSystem = nullptr;
  decltype(&::HcsTerminateComputeSystem) TerminateComputeSystem = nullptr;
  decltype(&::HcsGetComputeSystemProperties) GetComputeSystemProperties = nullptr;
  decltype(&::HcsEnumerateComputeSystems) EnumerateComputeSystems = nullptr;
  decltype(&::HcsGrantVmAccess) GrantVmAccess = nullptr;
};

struct HcnFunctions {
  bool loaded = false;
  std::string detail;
  decltype(&::HcnEnumerateNetworks) EnumerateNetworks = nullptr;
  decltype(&::HcnCreateNetwork) CreateNetwork = nullptr;
  decltype(&::HcnOpenNetwork) OpenNetwork = nullptr;
  decltype(&::HcnQueryNetworkProperties) QueryNetworkProperties = nullptr;
  decltype(&::HcnCloseNetwork) CloseNetwork = nullptr;
  decltype(&::HcnCreateEndpoint) CreateEndpoint = nullptr;
  decltype(&::HcnQueryEndpointProperties) QueryEndpointProperties = nullptr;
  decltype(&::HcnDeleteEndpoint) DeleteEndpoint = nullptr;
  decltype(&::HcnCloseEndpoint) CloseEndpoint = nullptr;
};

// Loaded once per process; the modules stay loaded until exit.
const HcsFunctions& hcs_functions();
const HcnFunctions& hcn_functions();

}  // namespace microagent::windows_hyperv::win32
