#include "protocol/json_codec.hpp"

#include <gtest/gtest.h>

namespace microagent::protocol {
namespace {

using nlohmann::json;

json valid_run_request() {
  return json::parse(R"({"command":"run",
    "identity":{"requestID":"req-1","runtimeID":"agent-1","role":"workload","backend":"linux-kvm"},
    "config":{"stateDir":"/var/lib/microagent","kernelPath":"/k","initrdPath":"/i","memoryMiB":512,"cpuCount":1,
              "command":["/bin/sh","-c","echo hi"],"env":{"A":"b"},"workdir":"/",
              "disks":[{"path":"/d.img","mode":"ro","mount":"/data"}],
              "network":{"mode":"user","interface":"","portForwards":[{"host":"127.0.0.1","hostPort":8080,"guestPort":80,"protocol":"tcp"}]},
              "mediation":{"port":2048,"target":"127.0.0.1:9900","required":true},
              "result":{"port":1024}}})");
}

TEST(ParseRequest, AcceptsTheDesignExample) {
  auto request = parse_request(valid_run_request().dump());
  ASSERT_TRUE(request) << request.error().message;
  EXPECT_EQ(request->command, Command::run);
  EXPECT_EQ(request->identity->runtime_id, "agent-1");
  EXPECT_EQ(request->config->memory_mib, 512);
  EXPECT_EQ(request->config->command.size(), 3u);
  EXPECT_EQ(request->config->env.at("A"), "b");
  ASSERT_EQ(request->config->disks.size(), 1u);
  EXPECT_EQ(request->config->disks[0].mount, "/data");
  ASSERT_EQ(request->config->network.port_forwards.size(), 1u);
  EXPECT_EQ(request->config->network.port_forwards[0].host_port, 8080);
  ASSERT_TRUE(request->config->mediation);
  EXPECT_EQ(request->config->mediation->port, 2048u);
}

TEST(ParseRequest, HostNeedsNothingElse) {
  auto request = parse_request(R"({"command":"host"})");
  ASSERT_TRUE(request);
  EXPECT_EQ(request->command, Command::host);
}

TEST(ParseRequest, InspectNeedsOnlyIdentityAndStateDir) {
  auto request = parse_request(R"({"command":"inspect","identity":{"runtimeID":"a"},"config":{"stateDir":"/s"}})");
  ASSERT_TRUE(request) << request.error().message;
  EXPECT_EQ(request->config->state_dir, "/s");
}

struct BadRequest {
  const char* name;
  std::function<void(json&)> mutate;
  ErrorCode code;
};

class BadRequests : public ::testing::TestWithParam<BadRequest> {};

TEST_P(BadRequests, FailClosedWithTheRightCode) {
  json request = valid_run_request();
  GetParam().mutate(request);
  auto parsed = parse_request(request.dump());
  ASSERT_FALSE(parsed) << GetParam().name;
  EXPECT_EQ(parsed.error().code, GetParam().code) << GetParam().name << ": " << parsed.error().message;
  EXPECT_FALSE(parsed.error().message.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Table, BadRequests,
    ::testing::Values(
        BadRequest{"unknown_command", [](json& r) { r["command"] = "explode"; }, ErrorCode::unsupported},
        BadRequest{"command_not_string", [](json& r) { r["command"] = 7; }, ErrorCode::invalid_request},
        BadRequest{"no_command", [](json& r) { r.erase("command"); }, ErrorCode::invalid_request},
        BadRequest{"no_identity", [](json& r) { r.erase("identity"); }, ErrorCode::invalid_request},
        BadRequest{"identity_not_object", [](json& r) { r["identity"] = "x"; }, ErrorCode::invalid_request},
        BadRequest{"no_runtime_id", [](json& r) { r["identity"].erase("runtimeID"); }, ErrorCode::invalid_request},
        BadRequest{"runtime_id_slash", [](json& r) { r["identity"]["runtimeID"] = "a/b"; }, ErrorCode::invalid_request},
        BadRequest{"runtime_id_dotdot", [](json& r) { r["identity"]["runtimeID"] = ".."; }, ErrorCode::invalid_request},
        BadRequest{"runtime_id_long", [](json& r) { r["identity"]["runtimeID"] = std::string(200, 'a'); }, ErrorCode::invalid_request},
        BadRequest{"runtime_id_64", [](json& r) { r["identity"]["runtimeID"] = std::string(64, 'a'); }, ErrorCode::invalid_request},
        BadRequest{"runtime_id_nul", [](json& r) { r["identity"]["runtimeID"] = std::string("a\0b", 3); }, ErrorCode::invalid_request},
        BadRequest{"runtime_id_upper", [](json& r) { r["identity"]["runtimeID"] = "Agent"; }, ErrorCode::invalid_request},
        BadRequest{"runtime_id_empty", [](json& r) { r["identity"]["runtimeID"] = ""; }, ErrorCode::invalid_request},
        BadRequest{"runtime_id_number", [](json& r) { r["identity"]["runtimeID"] = 5; }, ErrorCode::invalid_request},
        BadRequest{"no_config", [](json& r) { r.erase("config"); }, ErrorCode::invalid_request},
        BadRequest{"config_array", [](json& r) { r["config"] = json::array(); }, ErrorCode::invalid_request},
        BadRequest{"no_state_dir", [](json& r) { r["config"].erase("stateDir"); }, ErrorCode::invalid_request},
        BadRequest{"relative_state_dir", [](json& r) { r["config"]["stateDir"] = "rel"; }, ErrorCode::invalid_request},
        BadRequest{"negative_memory", [](json& r) { r["config"]["memoryMiB"] = -5; }, ErrorCode::invalid_request},
        BadRequest{"memory_string", [](json& r) { r["config"]["memoryMiB"] = "512"; }, ErrorCode::invalid_request},
        BadRequest{"memory_float", [](json& r) { r["config"]["memoryMiB"] = 1.5; }, ErrorCode::invalid_request},
        BadRequest{"zero_cpus", [](json& r) { r["config"]["cpuCount"] = 0; }, ErrorCode::invalid_request},
        BadRequest{"command_not_array", [](json& r) { r["config"]["command"] = "ls"; }, ErrorCode::invalid_request},
        BadRequest{"command_number_item", [](json& r) { r["config"]["command"] = json::array({1}); }, ErrorCode::invalid_request},
        BadRequest{"command_nul", [](json& r) { r["config"]["command"] = json::array({std::string("a\0", 2)}); }, ErrorCode::invalid_request},
        BadRequest{"env_array", [](json& r) { r["config"]["env"] = json::array(); }, ErrorCode::invalid_request},
        BadRequest{"env_value_number", [](json& r) { r["config"]["env"]["X"] = 1; }, ErrorCode::invalid_request},
        BadRequest{"env_key_equals", [](json& r) { r["config"]["env"]["A=B"] = "c"; }, ErrorCode::invalid_request},
        BadRequest{"relative_workdir", [](json& r) { r["config"]["workdir"] = "tmp"; }, ErrorCode::invalid_request},
        BadRequest{"disk_bad_mode", [](json& r) { r["config"]["disks"][0]["mode"] = "rx"; }, ErrorCode::invalid_request},
        BadRequest{"disk_relative_mount", [](json& r) { r["config"]["disks"][0]["mount"] = "data"; }, ErrorCode::invalid_request},
        BadRequest{"disk_not_object", [](json& r) { r["config"]["disks"] = json::array({"x"}); }, ErrorCode::invalid_request},
        BadRequest{"network_bad_mode", [](json& r) { r["config"]["network"]["mode"] = "host"; }, ErrorCode::invalid_request},
        BadRequest{"network_not_object", [](json& r) { r["config"]["network"] = 3; }, ErrorCode::invalid_request},
        BadRequest{"port_zero", [](json& r) { r["config"]["network"]["portForwards"][0]["hostPort"] = 0; }, ErrorCode::invalid_request},
        BadRequest{"port_huge", [](json& r) { r["config"]["network"]["portForwards"][0]["guestPort"] = 70000; }, ErrorCode::invalid_request},
        BadRequest{"port_negative", [](json& r) { r["config"]["network"]["portForwards"][0]["hostPort"] = -1; }, ErrorCode::invalid_request},
        BadRequest{"port_udp", [](json& r) { r["config"]["network"]["portForwards"][0]["protocol"] = "udp"; }, ErrorCode::invalid_request},
        BadRequest{"mediation_no_target", [](json& r) { r["config"]["mediation"].erase("target"); }, ErrorCode::invalid_request},
        BadRequest{"mediation_required_string", [](json& r) { r["config"]["mediation"]["required"] = "yes"; }, ErrorCode::invalid_request},
        BadRequest{"result_port_zero", [](json& r) { r["config"]["result"]["port"] = 0; }, ErrorCode::invalid_request},
        BadRequest{"negative_timeout", [](json& r) { r["config"]["timeoutSeconds"] = -1; }, ErrorCode::invalid_request},
        BadRequest{"negative_output_limit", [](json& r) { r["config"]["outputLimit"] = -1; }, ErrorCode::invalid_request},
        BadRequest{"huge_output_limit", [](json& r) { r["config"]["outputLimit"] = 1ULL << 40; }, ErrorCode::invalid_request},
        BadRequest{"huge_timeout", [](json& r) { r["config"]["timeoutSeconds"] = 1LL << 60; }, ErrorCode::invalid_request},
        BadRequest{"too_many_disks", [](json& r) { for (int i = 0; i < 17; ++i) r["config"]["disks"].push_back(r["config"]["disks"][0]); }, ErrorCode::invalid_request},
        BadRequest{"publish_any_address", [](json& r) { r["config"]["network"]["portForwards"][0]["host"] = "0.0.0.0"; }, ErrorCode::invalid_request},
        BadRequest{"publish_lan_address", [](json& r) { r["config"]["network"]["portForwards"][0]["host"] = "192.168.1.5"; }, ErrorCode::invalid_request},
        BadRequest{"publish_host_name", [](json& r) { r["config"]["network"]["portForwards"][0]["host"] = "example.com"; }, ErrorCode::invalid_request},
        BadRequest{"publish_host_option", [](json& r) { r["config"]["network"]["portForwards"][0]["host"] = "127.0.0.1,x=y"; }, ErrorCode::invalid_request},
        BadRequest{"publish_exposed_string", [](json& r) { r["config"]["network"]["portForwards"][0]["exposed"] = "yes"; }, ErrorCode::invalid_request}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ParseRequest, PublishingBeyondLoopbackNeedsExposed) {
  json request = valid_run_request();
  request["config"]["network"]["portForwards"][0]["host"] = "0.0.0.0";
  request["config"]["network"]["portForwards"][0]["exposed"] = true;
  auto parsed = parse_request(request.dump());
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_TRUE(parsed->config->network.port_forwards[0].exposed);
  EXPECT_EQ(to_json(*parsed->config)["network"]["portForwards"][0]["exposed"], true);
  request["config"]["network"]["portForwards"][0]["host"] = "127.0.0.2";
  request["config"]["network"]["portForwards"][0]["exposed"] = false;
  EXPECT_TRUE(parse_request(request.dump()));
}

// Bounds checked before the parser runs: nlohmann recurses per level and holds
// the whole document (a 100,000-deep request crashed the supervisor).
TEST(ParseRequest, DepthAndSizeAreBoundedBeforeParsing) {
  for (const std::string& deep : {std::string(100000, '['), std::string(65, '[') + std::string(65, ']'),
                                  "{\"command\":\"host\",\"x\":" + std::string(70, '[') + std::string(70, ']') + "}"}) {
    auto parsed = parse_request(deep);
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().code, ErrorCode::invalid_request);
    EXPECT_NE(parsed.error().message.find("deeper"), std::string::npos) << parsed.error().message;
  }
  // Brackets inside strings are data, not nesting.
  json request = valid_run_request();
  request["config"]["env"]["X"] = std::string(1000, '[');
  EXPECT_TRUE(parse_request(request.dump()));
  request["config"]["env"]["X"] = std::string(2 * 1024 * 1024, 'a');
  auto big = parse_request(request.dump());
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, ErrorCode::invalid_request);
  EXPECT_NE(big.error().message.find("larger"), std::string::npos);
}

TEST(ParseRequest, MalformedJsonIsInvalidRequest) {
  for (const char* text : {"", "{", "not json", "[]", "42", "{\"command\":\"run\""}) {
    auto parsed = parse_request(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_EQ(parsed.error().code, ErrorCode::invalid_request) << text;
  }
}

TEST(Event, RoundTripsThroughJson) {
  Event event;
  event.identity.runtime_id = "a";
  event.identity.backend = "linux-kvm";
  event.state = State::stopped;
  event.observed_at = "2026-11-23T13:00:00.000Z";
  event.detail = "done";
  event.result = json{{"exitCode", 3}};
  auto back = event_from_json(to_json(event));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->state, State::stopped);
  EXPECT_EQ(back->identity.runtime_id, "a");
  EXPECT_EQ((*back->result)["exitCode"], 3);
}

TEST(States, EveryNameRoundTrips) {
  for (auto name : {"unknown", "prepared", "starting", "running", "stopping", "halted", "quarantined", "stopped", "failed"}) {
    auto state = state_from_string(name);
    ASSERT_TRUE(state) << name;
    EXPECT_EQ(to_string(*state), name);
  }
  EXPECT_FALSE(state_from_string("paused"));
}

TEST(Responses, ErrorResponseCarriesTheStableCode) {
  auto body = error_response("linux-kvm", Error{ErrorCode::conflict, "busy"});
  EXPECT_EQ(body["ok"], false);
  EXPECT_EQ(body["error"]["code"], "conflict");
  EXPECT_EQ(body["error"]["message"], "busy");
}

}  // namespace
}  // namespace microagent::protocol
