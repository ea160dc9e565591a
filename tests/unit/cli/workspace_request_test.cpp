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
  auto request = build_workspace_request("run", input());
  ASSERT_TRUE(request) << request.error().message;
  auto parsed = protocol::parse_request(request->dump());
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->identity->runtime_id, "ws-1");
  EXPECT_EQ(parsed->config->env.at("EMPTY"), "");
  EXPECT_EQ(parsed->config->env.at("EQ"), "x=y");
  EXPECT_EQ(parsed->config->command, input().command);
}

TEST(WorkspaceRequest, RejectsBadNamesAndEnv) {
  auto bad_name = input();
  bad_name.name = "../x";
  EXPECT_EQ(build_workspace_request("run", bad_name).error().code, ErrorCode::invalid_request);
  auto bad_env = input();
  bad_env.env = {"NOVALUE"};
  EXPECT_EQ(build_workspace_request("run", bad_env).error().code, ErrorCode::invalid_request);
  bad_env.env = {"=x"};
  EXPECT_EQ(build_workspace_request("run", bad_env).error().code, ErrorCode::invalid_request);
}

}  // namespace
}  // namespace microagent::cli
