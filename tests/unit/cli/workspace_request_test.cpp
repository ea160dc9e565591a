#include "cli/workspace_request.hpp"

#include <gtest/gtest.h>

#include "protocol/json_codec.hpp"

namespace microagent::cli {
namespace {

WorkspaceRequestInput input() {
  WorkspaceRequestInput in;
  in.state_dir = "/state";
  in.name = "ws-1";
  in.env = {"A=b", "EMPTY=", "EQ=x=y"};
  in.command = {"sh", "-c", "echo hi"};
  in.kernel = "/k/vmlinux";
  in.initrd = "/k/initrd";
  return in;
}

TEST(WorkspaceRequest, BuildsARequestTheSupervisorAccepts) {
  auto request = build_workspace_request(protocol::Command::run, input());
  ASSERT_TRUE(request) << request.error().message;
  auto parsed = protocol::parse_request(protocol::to_json(*request).dump());
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->identity->runtime_id, "ws-1");
  EXPECT_EQ(parsed->config->env.at("EMPTY"), "");
  EXPECT_EQ(parsed->config->env.at("EQ"), "x=y");
  EXPECT_EQ(parsed->config->command, input().command);
}

// Commands that only name a workspace send its stateDir and the typed options,
// and the supervisor reads back what was meant.
TEST(WorkspaceRequest, NameOnlyCommandsRoundTripTheirOptions) {
  protocol::WorkspaceConfig config;
  config.state_dir = "/state";
  config.command = {"not", "sent"};
  protocol::RequestOptions options;
  options.grace_seconds = 7;
  auto halt = make_request(protocol::Command::halt, "ws-1", "linux-kvm", config, options);
  const auto halt_json = protocol::to_json(halt);
  EXPECT_EQ(halt_json["config"], nlohmann::json({{"stateDir", "/state"}}));
  auto parsed = protocol::parse_request(halt_json.dump());
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->command, protocol::Command::halt);
  EXPECT_EQ(parsed->options.grace_seconds, 7);

  options = {};
  options.no_capture = true;
  parsed = protocol::parse_request(protocol::to_json(make_request(protocol::Command::quarantine, "ws-1", "linux-kvm", config, options)).dump());
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_TRUE(parsed->options.no_capture);

  options = {};
  options.verify = true;
  parsed = protocol::parse_request(protocol::to_json(make_request(protocol::Command::inspect, "ws-1", "linux-kvm", config, options)).dump());
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_TRUE(parsed->options.verify);

  options = {};
  options.console_input = "ls\n";
  parsed = protocol::parse_request(protocol::to_json(make_request(protocol::Command::console, "ws-1", "linux-kvm", config, options)).dump());
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->options.console_input, "ls\n");

  protocol::Request host;
  host.options.host_state_dir = "/state";
  EXPECT_EQ(protocol::to_json(host), nlohmann::json({{"command", "host"}, {"stateDir", "/state"}}));
}

TEST(WorkspaceRequest, RejectsBadNamesAndEnv) {
  auto bad_name = input();
  bad_name.name = "../x";
  EXPECT_EQ(build_workspace_request(protocol::Command::run, bad_name).error().code, ErrorCode::invalid_request);
  auto bad_env = input();
  bad_env.env = {"NOVALUE"};
  EXPECT_EQ(build_workspace_request(protocol::Command::run, bad_env).error().code, ErrorCode::invalid_request);
  bad_env.env = {"=x"};
  EXPECT_EQ(build_workspace_request(protocol::Command::run, bad_env).error().code, ErrorCode::invalid_request);
}

}  // namespace
}  // namespace microagent::cli
