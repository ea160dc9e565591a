// HCN settings documents, field by field (hcsshim's hcn package names).
#include "backends/windows_hyperv/hcn_document.hpp"

#include <gtest/gtest.h>

namespace microagent::windows_hyperv {
namespace {

using nlohmann::json;

TEST(HcnDocument, ManagedNatNetwork) {
  const json doc = nat_network_document();
  EXPECT_EQ(doc["Name"], "microagent-nat");
  EXPECT_EQ(doc["Type"], "NAT");
  EXPECT_EQ(doc["SchemaVersion"], (json{{"Major", 2}, {"Minor", 0}}));
  ASSERT_EQ(doc["Ipams"].size(), 1u);
  const json& ipam = doc["Ipams"][0];
  EXPECT_EQ(ipam["Type"], "Static");
  ASSERT_EQ(ipam["Subnets"].size(), 1u);
  const json& subnet = ipam["Subnets"][0];
  EXPECT_EQ(subnet["IpAddressPrefix"], "192.168.127.0/24");
  ASSERT_EQ(subnet["Routes"].size(), 1u);
  EXPECT_EQ(subnet["Routes"][0], (json{{"NextHop", "192.168.127.1"}, {"DestinationPrefix", "0.0.0.0/0"}}));
}

TEST(HcnDocument, EndpointLetsHnsAssignTheAddress) {
  const json doc = endpoint_document({"2b1d5f2a-0000-0000-0000-000000000001", "", 24});
  EXPECT_EQ(doc["SchemaVersion"], (json{{"Major", 2}, {"Minor", 0}}));
  EXPECT_EQ(doc["HostComputeNetwork"], "2b1d5f2a-0000-0000-0000-000000000001");
  EXPECT_EQ(doc["IpConfigurations"], json::array());
}

TEST(HcnDocument, EndpointWithStaticAddress) {
  const json doc = endpoint_document({"net", "192.168.127.10", 24});
  EXPECT_EQ(doc["IpConfigurations"], (json::array({{{"IpAddress", "192.168.127.10"}, {"PrefixLength", 24}}})));
}

}  // namespace
}  // namespace microagent::windows_hyperv
