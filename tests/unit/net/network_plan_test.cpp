#include "net/network_plan.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "net/subnet_pool.hpp"
#include "protocol/json_codec.hpp"

namespace microagent::net {
namespace {

using protocol::NetworkMode;

protocol::WorkspaceConfig config_with(NetworkMode mode, std::vector<protocol::PortForward> forwards = {}) {
  protocol::WorkspaceConfig config;
  config.network.mode = mode;
  config.network.port_forwards = std::move(forwards);
  return config;
}

TEST(NetworkValidation, IsolatedWithPublishIsInvalid) {
  auto ok = validate_network_config(config_with(NetworkMode::isolated, {{"127.0.0.1", 8080, 80, "tcp"}}));
  ASSERT_FALSE(ok);
  EXPECT_EQ(ok.error().code, ErrorCode::invalid_request);
  EXPECT_TRUE(validate_network_config(config_with(NetworkMode::isolated)));
  for (NetworkMode mode : {NetworkMode::user, NetworkMode::nat}) EXPECT_TRUE(validate_network_config(config_with(mode, {{"127.0.0.1", 8080, 80, "tcp"}})));
}

TEST(NetworkValidation, RejectsBadModesPortsAndMediation) {
  EXPECT_FALSE(protocol::network_mode_from_string("host"));  // a mode that is none never gets this far
  EXPECT_FALSE(validate_network_config(config_with(NetworkMode::bridged)));  // no bridge named
  auto bridged = config_with(NetworkMode::bridged);
  bridged.network.interface = "br0";
  EXPECT_TRUE(validate_network_config(bridged));
  EXPECT_FALSE(validate_network_config(config_with(NetworkMode::user, {{"127.0.0.1", 1025, 80, "tcp"}})));  // reserved vsock port
  EXPECT_FALSE(validate_network_config(config_with(NetworkMode::user, {{"127.0.0.1", 8080, 80, "tcp"}, {"0.0.0.0", 8080, 81, "tcp"}})));
  EXPECT_FALSE(validate_network_config(config_with(NetworkMode::user, {{"127.0.0.1", 8080, 80, "udp"}})));
  auto mediated = config_with(NetworkMode::user, {{"127.0.0.1", 8080, 80, "tcp"}});
  mediated.mediation = protocol::MediationSpec{8080, "127.0.0.1:9900", true};
  EXPECT_FALSE(validate_network_config(mediated));  // same port as a publish
  mediated.mediation->port = 1024;
  EXPECT_FALSE(validate_network_config(mediated));  // the result port
  mediated.mediation->port = 2048;
  EXPECT_TRUE(validate_network_config(mediated));
  mediated.mediation->target = "nocolon";
  EXPECT_FALSE(validate_network_config(mediated));
}

TEST(NetworkPlan, NamesFitTheKernelsLimitsAndAreStable) {
  const auto tap = tap_name_for("/var/lib/microagent/ws1");
  EXPECT_LT(tap.size(), 16u);
  EXPECT_EQ(tap, tap_name_for("/var/lib/microagent/ws1"));
  EXPECT_NE(tap, tap_name_for("/var/lib/microagent/ws2"));
  const auto mac = mac_for("/var/lib/microagent/ws1");
  EXPECT_EQ(mac.size(), 17u);
  EXPECT_EQ(mac.substr(0, 3), "02:");  // locally administered unicast
}

TEST(NetworkPlan, AssignmentsPerMode) {
  auto user = plan_assignment(config_with(NetworkMode::user), "k");
  EXPECT_EQ(user.guest_address, "10.0.2.15");
  EXPECT_EQ(user.prefix, 24);
  EXPECT_EQ(user.gateway, "10.0.2.2");
  EXPECT_EQ(user.dns, std::vector<std::string>{"10.0.2.3"});
  EXPECT_TRUE(user.tap.empty());

  auto subnet = parse_subnet("10.213.0.8/30");
  ASSERT_TRUE(subnet);
  auto nat = plan_assignment(config_with(NetworkMode::nat), "k", *subnet);
  EXPECT_EQ(nat.subnet, "10.213.0.8/30");
  EXPECT_EQ(nat.host_address, "10.213.0.9");
  EXPECT_EQ(nat.guest_address, "10.213.0.10");
  EXPECT_EQ(nat.gateway, "10.213.0.9");
  EXPECT_EQ(nat.tap, tap_name_for("k"));

  auto isolated = plan_assignment(config_with(NetworkMode::isolated), "k");
  EXPECT_TRUE(isolated.mac.empty());
  auto guest = guest_network_for(isolated, config_with(NetworkMode::isolated));
  EXPECT_TRUE(guest.interface.empty());
  EXPECT_TRUE(guest.forwards.empty());
}

TEST(NetworkPlan, GuestNetworkCarriesForwardsAndMediation) {
  auto config = config_with(NetworkMode::user, {{"127.0.0.1", 18080, 80, "tcp"}});
  config.mediation = protocol::MediationSpec{2048, "127.0.0.1:9900", true};
  auto guest = guest_network_for(plan_assignment(config, "k"), config);
  EXPECT_EQ(guest.interface, "eth0");
  EXPECT_EQ(guest.address, "10.0.2.15");
  ASSERT_EQ(guest.forwards.size(), 1u);
  EXPECT_EQ(guest.forwards[0].vsock_port, 18080u);  // the host port is the vsock port
  EXPECT_EQ(guest.forwards[0].guest_port, 80);
  EXPECT_EQ(guest.mediation_port, 2048u);

  auto bridged = config_with(NetworkMode::bridged);
  bridged.network.interface = "br0";
  auto b = guest_network_for(plan_assignment(bridged, "k"), bridged);
  EXPECT_EQ(b.interface, "eth0");
  EXPECT_TRUE(b.address.empty());  // no static address: the workload brings its own
}

TEST(NetworkPlan, AssignmentJsonRoundTrips) {
  auto subnet = parse_subnet("10.213.0.4/30");
  auto a = plan_assignment(config_with(NetworkMode::nat, {{"0.0.0.0", 9000, 90, "tcp"}}), "key", *subnet);
  auto back = assignment_from_json(nlohmann::json::parse(assignment_to_json(a).dump()));
  EXPECT_EQ(back.mode, NetworkMode::nat);
  EXPECT_EQ(back.tap, a.tap);
  EXPECT_EQ(back.subnet, "10.213.0.4/30");
  EXPECT_EQ(back.guest_address, a.guest_address);
  EXPECT_EQ(back.prefix, 30);
  EXPECT_EQ(back.dns, a.dns);
  ASSERT_EQ(back.forwards.size(), 1u);
  EXPECT_EQ(back.forwards[0].host, "0.0.0.0");
  EXPECT_EQ(back.forwards[0].host_port, 9000);
  EXPECT_EQ(assignment_from_json(nlohmann::json("garbage")).mode, NetworkMode::isolated);
  EXPECT_EQ(assignment_from_json(nlohmann::json{{"mode", "host"}}).mode, NetworkMode::isolated);
}

}  // namespace
}  // namespace microagent::net
