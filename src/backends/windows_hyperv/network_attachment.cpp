#include "backends/windows_hyperv/network_attachment.hpp"

#include <fmt/core.h>

#include "backends/windows_hyperv/hcn_document.hpp"
#include "backends/windows_hyperv/hv_constants.hpp"

namespace microagent::windows_hyperv {

using protocol::NetworkMode;

namespace {

std::optional<HcnNetwork> find_network(const std::vector<HcnNetwork>& networks, std::string_view name) {
  for (const auto& network : networks) {
    if (network.name == name) return network;
  }
  return std::nullopt;
}

// The managed NAT network: reused when present (another workspace made it), else created.
Result<HcnNetwork> managed_nat_network(WindowsHost& host, const std::vector<HcnNetwork>& networks) {
  if (auto existing = find_network(networks, kNatNetworkName)) return *existing;
  auto created = host.create_network(host.new_guid(), nat_network_document().dump());
  if (!created) {
    return fail(created.error().code, fmt::format("cannot create the {} NAT network ({}): {}", kNatNetworkName,
                                                  kNatSubnet, created.error().message));
  }
  return created;
}

}  // namespace

Result<void> validate_network(const protocol::NetworkSpec& network) {
  if (network.mode == NetworkMode::bridged && network.interface.empty()) {
    return fail(ErrorCode::invalid_request,
                "config.network.interface must name the HNS network to bridge to (Get-HnsNetwork lists them)");
  }
  for (const auto& forward : network.port_forwards) {
    if (forward.protocol != "tcp") {
      return fail(ErrorCode::unsupported, "published ports on windows-hyperv are TCP only, not '" + forward.protocol + "'");
    }
    if (forward.host_port == 0 || forward.guest_port == 0) {
      return fail(ErrorCode::invalid_request, "a published port needs hostPort and guestPort");
    }
  }
  // Published ports travel over Hyper-V sockets, not the guest's network
  // adapter, so `isolated` with port forwards is allowed.
  return {};
}

Result<std::optional<NetworkAttachment>> attach_network(WindowsHost& host, const protocol::NetworkSpec& network) {
  if (auto ok = validate_network(network); !ok) return std::unexpected(ok.error());
  if (network.mode == NetworkMode::isolated) return std::optional<NetworkAttachment>{};
  auto networks = host.enumerate_networks();
  if (!networks) return std::unexpected(networks.error());

  HcnNetwork target;
  if (network.mode == NetworkMode::bridged) {
    auto named = find_network(*networks, network.interface);
    if (!named) {
      return fail(ErrorCode::not_found, "no HNS network named '" + network.interface +
                                            "' to bridge to: create it (New-VMSwitch / New-HnsNetwork) or pick one "
                                            "from Get-HnsNetwork");
    }
    target = *named;
  } else {
    auto nat = managed_nat_network(host, *networks);
    if (!nat) return std::unexpected(nat.error());
    target = *nat;
  }
  const std::string endpoint_id = host.new_guid();
  auto endpoint = host.create_endpoint(target.id, endpoint_id, endpoint_document(EndpointSpec{target.id, "", 24}).dump());
  if (!endpoint) {
    return fail(endpoint.error().code,
                "cannot create an endpoint on HNS network '" + target.name + "': " + endpoint.error().message);
  }
  return std::optional<NetworkAttachment>{
      NetworkAttachment{target.id, target.name, endpoint->id, endpoint->mac_address, endpoint->ip_address}};
}

Result<void> release_endpoint(WindowsHost& host, const std::string& endpoint_id) {
  if (endpoint_id.empty()) return {};
  auto deleted = host.delete_endpoint(endpoint_id);
  if (!deleted && deleted.error().code != ErrorCode::not_found) return deleted;
  return {};
}

nlohmann::json to_json(const NetworkAttachment& attachment) {
  return {{"networkId", attachment.network_id},
          {"networkName", attachment.network_name},
          {"endpointId", attachment.endpoint_id},
          {"macAddress", attachment.mac_address},
          {"ipAddress", attachment.ip_address}};
}

}  // namespace microagent::windows_hyperv
