// The guest config's network section (common/guest_wire) and the CLI flags that fill config.network.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/network_flags.hpp"
#include "protocol/json_codec.hpp"
#include "common/guest_wire.hpp"
#include "guestinit/guest_network.hpp"

namespace microagent {
namespace {

TEST(GuestNetworkConfig, RoundTripsThroughJsonAndTheCommandLine) {
  GuestConfig config;
  config.argv = {"true"};
  config.network.mode = "nat";
  config.network.interface = "eth0";
  config.network.address = "10.213.0.6";
  config.network.prefix = 30;
  config.network.gateway = "10.213.0.5";
  config.network.dns = {"1.1.1.1", "9.9.9.9"};
  config.network.forwards = {{18080, 80}, {2222, 22}};
  config.network.mediation_port = 2048;
  auto back = guest_config_from_json(guest_config_to_json(config));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->network.mode, "nat");
  EXPECT_EQ(back->network.interface, "eth0");
  EXPECT_EQ(back->network.address, "10.213.0.6");
  EXPECT_EQ(back->network.prefix, 30);
  EXPECT_EQ(back->network.gateway, "10.213.0.5");
  EXPECT_EQ(back->network.dns, config.network.dns);
  ASSERT_EQ(back->network.forwards.size(), 2u);
  EXPECT_EQ(back->network.forwards[1].vsock_port, 2222u);
  EXPECT_EQ(back->network.forwards[1].guest_port, 22);
  EXPECT_EQ(back->network.mediation_port, 2048u);
  auto param = encode_config_cmdline_param(config);
  ASSERT_TRUE(param);
  auto decoded = decode_config_from_cmdline("console=ttyS0 " + *param);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->network.address, "10.213.0.6");
}

TEST(GuestNetworkConfig, AbsentMeansNoNicAndIsOmitted) {
  GuestConfig config;
  config.argv = {"true"};
  EXPECT_EQ(guest_config_to_json(config).find("network"), std::string::npos);
  auto back = guest_config_from_json(R"({"argv":["true"]})");
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->network.interface.empty());
  EXPECT_TRUE(back->network.forwards.empty());
}

TEST(GuestNetworkConfig, RejectsMalformedSections) {
  for (const char* text : {R"({"argv":["true"],"network":"eth0"})",
                           R"({"argv":["true"],"network":{"interface":"eth0","address":"10.0.0.2"}})",
                           R"({"argv":["true"],"network":{"address":"10.0.0.2","prefix":24}})",
                           R"({"argv":["true"],"network":{"prefix":33}})",
                           R"({"argv":["true"],"network":{"dns":"1.1.1.1"}})",
                           R"({"argv":["true"],"network":{"dns":[1]}})",
                           R"({"argv":["true"],"network":{"forwards":[{"vsockPort":80}]}})",
                           R"({"argv":["true"],"network":{"forwards":[{"vsockPort":80,"guestPort":70000}]}})",
                           R"({"argv":["true"],"network":{"forwards":[5]}})",
                           R"({"argv":["true"],"network":{"mediationPort":-1}})"}) {
    auto config = guest_config_from_json(text);
    ASSERT_FALSE(config) << text;
    EXPECT_EQ(config.error().code, ErrorCode::invalid_request);
  }
}

TEST(GuestNetworkConfig, ResolvConf) {
  EXPECT_EQ(guestinit::resolv_conf_text({"10.0.2.3", "1.1.1.1"}), "nameserver 10.0.2.3\nnameserver 1.1.1.1\n");
  EXPECT_EQ(guestinit::resolv_conf_text({}), "");
}

TEST(NetworkFlags, FillConfigAndRejectBeforeAnyRequest) {
  cli::NetworkFlags flags;
  flags.publish = {"18080:80", "0.0.0.0:9000:90/tcp"};
  flags.mediation = "2048=127.0.0.1:9900";
  flags.mediation_optional = true;
  protocol::WorkspaceConfig typed;
  ASSERT_TRUE(cli::apply_network_flags(flags, typed));
  nlohmann::json config = protocol::to_json(typed);
  EXPECT_EQ(config["network"]["mode"], "user");
  ASSERT_EQ(config["network"]["portForwards"].size(), 2u);
  EXPECT_EQ(config["network"]["portForwards"][0]["host"], "127.0.0.1");
  EXPECT_EQ(config["network"]["portForwards"][1]["hostPort"], 9000);
  EXPECT_EQ(config["mediation"]["port"], 2048);
  EXPECT_EQ(config["mediation"]["required"], false);

  cli::NetworkFlags bridged;
  bridged.network = "bridged:br0";
  ASSERT_TRUE(cli::apply_network_flags(bridged, typed));
  config = protocol::to_json(typed);
  EXPECT_EQ(config["network"]["mode"], "bridged");
  EXPECT_EQ(config["network"]["interface"], "br0");
  EXPECT_FALSE(config.contains("mediation"));

  auto reject = [](cli::NetworkFlags f) {
    protocol::WorkspaceConfig c;
    auto ok = cli::apply_network_flags(f, c);
    return !ok && ok.error().code == ErrorCode::invalid_request;
  };
  cli::NetworkFlags isolated;
  isolated.network = "isolated";
  isolated.publish = {"8080:80"};
  EXPECT_TRUE(reject(isolated));
  auto with = [](auto edit) {
    cli::NetworkFlags f;
    edit(f);
    return f;
  };
  EXPECT_TRUE(reject(with([](cli::NetworkFlags& f) { f.network = "bridged"; })));
  EXPECT_TRUE(reject(with([](cli::NetworkFlags& f) { f.network = "nat:br0"; })));
  EXPECT_TRUE(reject(with([](cli::NetworkFlags& f) { f.network = "host"; })));
  EXPECT_TRUE(reject(with([](cli::NetworkFlags& f) { f.publish = {"80"}; })));
  EXPECT_TRUE(reject(with([](cli::NetworkFlags& f) { f.mediation = "2048"; })));
  EXPECT_TRUE(reject(with([](cli::NetworkFlags& f) { f.mediation_optional = true; })));
}

}  // namespace
}  // namespace microagent
