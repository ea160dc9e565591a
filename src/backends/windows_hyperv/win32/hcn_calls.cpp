// Win32WindowsHost's HCN half. HCN returns documents and error records as
// CoTaskMem strings; ids are GUIDs in canonical text form.
#include "backends/windows_hyperv/win32/windows_headers.hpp"

#include <nlohmann/json.hpp>

#include "backends/windows_hyperv/win32/compute_libraries.hpp"
#include "backends/windows_hyperv/win32/win32_error.hpp"
#include "backends/windows_hyperv/win32/win32_windows_host.hpp"

namespace microagent::windows_hyperv::win32 {

namespace {

constexpr const wchar_t* kSchema2Query = LR"({"SchemaVersion":{"Major":2,"Minor":0}})";
// HCN_E_ENDPOINT_NOT_FOUND.
constexpr HRESULT kEndpointNotFound = static_cast<HRESULT>(0x803B0002L);

Result<const HcnFunctions*> hcn() {
  const auto& f = hcn_functions();
  if (!f.loaded) return fail(ErrorCode::host_unavailable, f.detail);
  return &f;
}

std::string take(PWSTR text) {
  std::string out = text ? narrow(text) : std::string();
  if (text) CoTaskMemFree(text);
  return out;
}

Result<GUID> to_guid(const std::string& text) {
  GUID guid{};
  std::string bare = text;
  if (!bare.empty() && bare.front() == '{') bare = bare.substr(1, bare.size() - 2);
  if (UuidFromStringA(reinterpret_cast<RPC_CSTR>(bare.data()), &guid) != RPC_S_OK) {
    return fail(ErrorCode::invalid_request, "not a GUID: " + text);
  }
  return guid;
}

HcnNetwork network_from_properties(const std::string& id, const std::string& document) {
  const auto json = nlohmann::json::parse(document, nullptr, false);
  HcnNetwork network{id, "", ""};
  if (json.is_object()) {
    network.name = json.value("Name", "");
    network.type = json.value("Type", "");
  }
  return network;
}

}  // namespace

Result<std::vector<HcnNetwork>> Win32WindowsHost::enumerate_networks() {
  auto f = hcn();
  if (!f) return std::unexpected(f.error());
  PWSTR ids = nullptr, error = nullptr;
  HRESULT hr = (*f)->EnumerateNetworks(kSchema2Query, &ids, &error);
  const std::string list = take(ids), record = take(error);
  if (FAILED(hr)) return fail_hresult("HcnEnumerateNetworks", hr, record);
  std::vector<HcnNetwork> networks;
  const auto json = nlohmann::json::parse(list, nullptr, false);
  if (!json.is_array()) return networks;
  for (const auto& entry : json) {
    if (!entry.is_string()) continue;
    const std::string id = entry.get<std::string>();
    auto guid = to_guid(id);
    if (!guid) continue;
    HCN_NETWORK handle = nullptr;
    if (FAILED((*f)->OpenNetwork(*guid, &handle, &error))) {
      take(error);
      continue;
    }
    PWSTR properties = nullptr;
    hr = (*f)->QueryNetworkProperties(handle, kSchema2Query, &properties, &error);
    const std::string document = take(properties);
    take(error);
    (*f)->CloseNetwork(handle);
    if (SUCCEEDED(hr)) networks.push_back(network_from_properties(id, document));
  }
  return networks;
}

Result<HcnNetwork> Win32WindowsHost::create_network(const std::string& id, const std::string& settings) {
  auto f = hcn();
  if (!f) return std::unexpected(f.error());
  auto guid = to_guid(id);
  if (!guid) return std::unexpected(guid.error());
  HCN_NETWORK handle = nullptr;
  PWSTR error = nullptr;
  const HRESULT hr = (*f)->CreateNetwork(*guid, widen(settings).c_str(), &handle, &error);
  const std::string record = take(error);
  if (FAILED(hr)) return fail_hresult("HcnCreateNetwork", hr, record);
  (*f)->CloseNetwork(handle);
  return network_from_properties(id, settings);
}

Result<HcnEndpoint> Win32WindowsHost::create_endpoint(const std::string& network_id, const std::string& id,
                                                      const std::string& settings) {
  auto f = hcn();
  if (!f) return std::unexpected(f.error());
  auto network_guid = to_guid(network_id);
  auto endpoint_guid = to_guid(id);
  if (!network_guid) return std::unexpected(network_guid.error());
  if (!endpoint_guid) return std::unexpected(endpoint_guid.error());
  HCN_NETWORK network = nullptr;
  PWSTR error = nullptr;
  HRESULT hr = (*f)->OpenNetwork(*network_guid, &network, &error);
  std::string record = take(error);
  if (FAILED(hr)) return fail_hresult("HcnOpenNetwork " + network_id, hr, record);
  HCN_ENDPOINT endpoint = nullptr;
  hr = (*f)->CreateEndpoint(network, *endpoint_guid, widen(settings).c_str(), &endpoint, &error);
  record = take(error);
  (*f)->CloseNetwork(network);
  if (FAILED(hr)) return fail_hresult("HcnCreateEndpoint", hr, record);
  PWSTR properties = nullptr;
  hr = (*f)->QueryEndpointProperties(endpoint, kSchema2Query, &properties, &error);
  const std::string document = take(properties);
  take(error);
  (*f)->CloseEndpoint(endpoint);
  HcnEndpoint result{id, network_id, "", ""};
  const auto json = nlohmann::json::parse(document, nullptr, false);
  if (SUCCEEDED(hr) && json.is_object()) {
    result.mac_address = json.value("MacAddress", "");
    if (auto it = json.find("IpConfigurations"); it != json.end() && it->is_array() && !it->empty() &&
                                                 (*it)[0].is_object()) {
      result.ip_address = (*it)[0].value("IpAddress", "");
    }
  }
  return result;
}

Result<void> Win32WindowsHost::delete_endpoint(const std::string& id) {
  auto f = hcn();
  if (!f) return std::unexpected(f.error());
  auto guid = to_guid(id);
  if (!guid) return std::unexpected(guid.error());
  PWSTR error = nullptr;
  const HRESULT hr = (*f)->DeleteEndpoint(*guid, &error);
  const std::string record = take(error);
  if (hr == kEndpointNotFound) return fail(ErrorCode::not_found, "no HCN endpoint " + id);
  if (FAILED(hr)) return fail_hresult("HcnDeleteEndpoint " + id, hr, record);
  return {};
}

}  // namespace microagent::windows_hyperv::win32
