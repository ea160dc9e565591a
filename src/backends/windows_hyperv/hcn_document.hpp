#pragma once
// HCN (Host Compute Network, schema 2.0) settings documents: microagent's
// managed NAT network and a VM's endpoint on a network. Pure functions; field
// names as in hcsshim's hcn package (HostComputeNetwork, Ipam, Subnet, Route,
// HostComputeEndpoint, IpConfig).
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace microagent::windows_hyperv {

// microagent-nat: Type NAT, 192.168.127.0/24, default route via 192.168.127.1.
nlohmann::json nat_network_document();

struct EndpointSpec {
  std::string network_id;  // the HostComputeNetwork GUID the endpoint joins
  std::string ip_address;  // empty: HNS assigns one from the network's IPAM
  int prefix_length = 24;
};

nlohmann::json endpoint_document(const EndpointSpec& spec);

}  // namespace microagent::windows_hyperv
