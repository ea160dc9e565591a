#include "backends/windows_hyperv/hcn_document.hpp"

#include "backends/windows_hyperv/hv_constants.hpp"

namespace microagent::windows_hyperv {

using nlohmann::json;

namespace {

json hcn_schema_version() { return {{"Major", kHcnSchemaMajor}, {"Minor", kHcnSchemaMinor}}; }

}  // namespace

json nat_network_document() {
  const json route = {{"NextHop", kNatGateway}, {"DestinationPrefix", "0.0.0.0/0"}};
  const json subnet = {{"IpAddressPrefix", kNatSubnet}, {"Routes", json::array({route})}};
  return {{"Name", kNatNetworkName},
          {"Type", "NAT"},
          {"SchemaVersion", hcn_schema_version()},
          {"Ipams", json::array({{{"Type", "Static"}, {"Subnets", json::array({subnet})}}})}};
}

json endpoint_document(const EndpointSpec& spec) {
  json ip_configurations = json::array();
  if (!spec.ip_address.empty()) {
    ip_configurations.push_back({{"IpAddress", spec.ip_address}, {"PrefixLength", spec.prefix_length}});
  }
  return {{"SchemaVersion", hcn_schema_version()},
          {"HostComputeNetwork", spec.network_id},
          {"IpConfigurations", ip_configurations}};
}

}  // namespace microagent::windows_hyperv
