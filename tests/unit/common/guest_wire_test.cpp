#include "common/guest_wire.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/base64.hpp"

namespace microagent {
namespace {

GuestConfig sample_config() {
  GuestConfig config;
  config.argv = {"/bin/sh", "-c", "echo 'hi there' \"$X\""};
  config.env = {{"X", "a=b c"}, {"LANG", "C.UTF-8"}};
  config.workdir = "/srv";
  config.hostname = "agent-1";
  config.result_port = 4096;
  config.output_limit = 12345;
  config.root_device = "/dev/vda";
  config.disks = {{"/dev/vdb", "/data", true}, {"/dev/vdc", "/scratch", false}};
  return config;
}

void expect_same(const GuestConfig& a, const GuestConfig& b) {
  EXPECT_EQ(a.argv, b.argv);
  EXPECT_EQ(a.env, b.env);
  EXPECT_EQ(a.workdir, b.workdir);
  EXPECT_EQ(a.hostname, b.hostname);
  EXPECT_EQ(a.result_port, b.result_port);
  EXPECT_EQ(a.output_limit, b.output_limit);
  EXPECT_EQ(a.root_device, b.root_device);
  ASSERT_EQ(a.disks.size(), b.disks.size());
  for (std::size_t i = 0; i < a.disks.size(); ++i) {
    EXPECT_EQ(a.disks[i].device, b.disks[i].device);
    EXPECT_EQ(a.disks[i].mount, b.disks[i].mount);
    EXPECT_EQ(a.disks[i].read_only, b.disks[i].read_only);
  }
}

std::string all_byte_values() {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  return bytes;
}

TEST(GuestConfigJson, RoundTrips) {
  const GuestConfig config = sample_config();
  auto decoded = guest_config_from_json(guest_config_to_json(config));
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  expect_same(config, *decoded);
}

TEST(GuestConfigJson, UsesCamelCaseKeys) {
  const auto doc = nlohmann::json::parse(guest_config_to_json(sample_config()));
  for (const char* key : {"argv", "env", "workdir", "hostname", "resultPort", "outputLimit", "rootDevice", "disks"}) {
    EXPECT_TRUE(doc.contains(key)) << key;
  }
  EXPECT_EQ(doc["disks"][0]["readOnly"], true);
}

TEST(GuestConfigJson, AppliesDefaultsForAbsentOrNullFields) {
  auto decoded = guest_config_from_json(R"({"argv":["true"],"env":null,"workdir":null,"disks":null})");
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  EXPECT_EQ(decoded->workdir, "/");
  EXPECT_EQ(decoded->hostname, "microagent");
  EXPECT_EQ(decoded->result_port, kResultPort);
  EXPECT_EQ(decoded->output_limit, kDefaultOutputLimit);
  EXPECT_TRUE(decoded->root_device.empty());
  EXPECT_TRUE(decoded->disks.empty());
}

TEST(GuestConfigJson, RejectsWrongTypesWithInvalidRequest) {
  const char* bad[] = {
      "",
      "[]",
      "not json",
      R"({})",
      R"({"argv":[]})",
      R"({"argv":"sh"})",
      R"({"argv":[1]})",
      R"({"argv":[""]})",
      R"({"argv":["sh"],"env":{"A":1}})",
      R"({"argv":["sh"],"env":["A=1"]})",
      R"({"argv":["sh"],"env":{"A=B":"1"}})",
      R"({"argv":["sh"],"workdir":5})",
      R"({"argv":["sh"],"hostname":true})",
      R"({"argv":["sh"],"resultPort":-1})",
      R"({"argv":["sh"],"resultPort":4294967296})",
      R"({"argv":["sh"],"resultPort":"1024"})",
      R"({"argv":["sh"],"outputLimit":1.5})",
      R"({"argv":["sh"],"rootDevice":{}})",
      R"({"argv":["sh"],"disks":{}})",
      R"({"argv":["sh"],"disks":["/dev/vdb"]})",
      R"({"argv":["sh"],"disks":[{"device":"/dev/vdb","mount":"data"}]})",
      R"({"argv":["sh"],"disks":[{"device":"/dev/vdb","mount":"/data","readOnly":"yes"}]})",
  };
  for (const char* text : bad) {
    auto decoded = guest_config_from_json(text);
    ASSERT_FALSE(decoded.has_value()) << text;
    EXPECT_EQ(decoded.error().code, ErrorCode::invalid_request) << text;
  }
}

GuestResult sample_result() {
  GuestResult result;
  result.exit_code = 3;
  result.stdout_data = all_byte_values();
  result.stderr_data = std::string("err\0or\n", 7);
  result.stdout_truncated = true;
  result.stdout_bytes = 1 << 20;
  result.stderr_bytes = 7;
  result.started_at = "2026-11-23T13:21:37.123Z";
  result.finished_at = "2026-11-23T13:21:38.456Z";
  result.duration_ms = 1333;
  result.kernel_release = "6.1.0-56-cloud-amd64";
  return result;
}

TEST(GuestResultJson, RoundTripsBinaryOutput) {
  const GuestResult result = sample_result();
  auto decoded = guest_result_from_json(guest_result_to_json(result));
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  EXPECT_EQ(decoded->exit_code, 3);
  EXPECT_FALSE(decoded->signal.has_value());
  EXPECT_EQ(decoded->stdout_data, result.stdout_data);
  EXPECT_EQ(decoded->stderr_data, result.stderr_data);
  EXPECT_TRUE(decoded->stdout_truncated);
  EXPECT_FALSE(decoded->stderr_truncated);
  EXPECT_EQ(decoded->stdout_bytes, result.stdout_bytes);
  EXPECT_EQ(decoded->stderr_bytes, 7u);
  EXPECT_EQ(decoded->error, "");
  EXPECT_EQ(decoded->started_at, result.started_at);
  EXPECT_EQ(decoded->finished_at, result.finished_at);
  EXPECT_EQ(decoded->duration_ms, 1333u);
  EXPECT_EQ(decoded->kernel_release, result.kernel_release);
}

TEST(GuestResultJson, WireShape) {
  GuestResult result = sample_result();
  result.exit_code.reset();
  result.signal = 9;
  result.error = "command not found: foo";
  const auto doc = nlohmann::json::parse(guest_result_to_json(result));
  EXPECT_TRUE(doc["exitCode"].is_null());
  EXPECT_EQ(doc["signal"], 9);
  EXPECT_EQ(doc["stdout"], base64_encode(all_byte_values()));
  EXPECT_EQ(doc["error"], "command not found: foo");
  for (const char* key : {"stdoutTruncated", "stderrTruncated", "stdoutBytes", "stderrBytes", "startedAt",
                          "finishedAt", "durationMs", "kernelRelease", "stderr"}) {
    EXPECT_TRUE(doc.contains(key)) << key;
  }
  EXPECT_TRUE(nlohmann::json::parse(guest_result_to_json(sample_result()))["error"].is_null());
}

TEST(GuestResultJson, AcceptsOmittedOptionals) {
  auto decoded = guest_result_from_json(R"({"exitCode":0})");
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  EXPECT_EQ(decoded->exit_code, 0);
  EXPECT_TRUE(decoded->stdout_data.empty());
}

TEST(GuestResultJson, RejectsWrongTypesWithInvalidRequest) {
  for (const char* text : {"", "null", "[1]", R"({"exitCode":"0"})", R"({"exitCode":1.5})",
                           R"({"exitCode":4294967296})", R"({"signal":true})", R"({"stdout":"***"})",
                           R"({"stdout":5})", R"({"stdoutTruncated":1})", R"({"stdoutBytes":-5})",
                           R"({"error":[]})", R"({"durationMs":"1"})", R"({"kernelRelease":{}})"}) {
    auto decoded = guest_result_from_json(text);
    ASSERT_FALSE(decoded.has_value()) << text;
    EXPECT_EQ(decoded.error().code, ErrorCode::invalid_request) << text;
  }
}

TEST(ConfigCmdline, RoundTripsAmongOtherParameters) {
  const GuestConfig config = sample_config();
  auto param = encode_config_cmdline_param(config);
  ASSERT_TRUE(param.has_value());
  EXPECT_TRUE(param->starts_with(std::string(kCmdlineConfigKey) + "="));
  EXPECT_LE(param->size(), kCmdlineConfigBudget);
  const std::string cmdline = "console=ttyS0 quiet panic=-1 " + *param + " tsc_early_khz=2000000\n";
  auto decoded = decode_config_from_cmdline(cmdline);
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  expect_same(config, *decoded);
}

TEST(ConfigCmdline, IgnoresParametersThatOnlyShareThePrefix) {
  auto param = encode_config_cmdline_param(sample_config());
  auto decoded = decode_config_from_cmdline("xmicroagent.config=AAAA microagent.configx=BBBB " + *param);
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  EXPECT_EQ(decoded->hostname, "agent-1");
}

TEST(ConfigCmdline, MissingIsNotFound) {
  auto decoded = decode_config_from_cmdline("console=ttyS0 quiet\n");
  ASSERT_FALSE(decoded.has_value());
  EXPECT_EQ(decoded.error().code, ErrorCode::not_found);
  EXPECT_EQ(decode_config_from_cmdline("").error().code, ErrorCode::not_found);
}

TEST(ConfigCmdline, CorruptedIsInvalidRequest) {
  for (const char* cmdline : {"microagent.config=!!!", "microagent.config=Zg==", "microagent.config=",
                              "microagent.config=bm90IGpzb24"}) {  // "not json"
    auto decoded = decode_config_from_cmdline(cmdline);
    ASSERT_FALSE(decoded.has_value()) << cmdline;
    EXPECT_EQ(decoded.error().code, ErrorCode::invalid_request) << cmdline;
  }
}

TEST(ConfigCmdline, OverBudgetIsNullopt) {
  GuestConfig config = sample_config();
  config.argv.push_back(std::string(kCmdlineConfigBudget, 'x'));
  EXPECT_FALSE(encode_config_cmdline_param(config).has_value());
}

TEST(GuestConfigJson, KeepAliveAllowsAnEmptyArgv) {
  GuestConfig config;
  config.keep_alive = true;
  const auto doc = nlohmann::json::parse(guest_config_to_json(config));
  EXPECT_EQ(doc["keepAlive"], true);
  auto decoded = guest_config_from_json(guest_config_to_json(config));
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  EXPECT_TRUE(decoded->keep_alive);
  EXPECT_TRUE(decoded->argv.empty());
  EXPECT_TRUE(guest_config_from_json(R"({"keepAlive":true})").has_value());
  EXPECT_FALSE(guest_config_from_json(R"({"keepAlive":false,"argv":[]})").has_value());
  EXPECT_FALSE(guest_config_from_json(R"({"keepAlive":"yes","argv":["sh"]})").has_value());
  EXPECT_FALSE(guest_config_from_json(R"({"argv":["sh"]})")->keep_alive);
}

}  // namespace
}  // namespace microagent
