// The doctor report's JSON (protocol/doctor.hpp, docs/doctor.md) and CLI platform routing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/platform_routing.hpp"
#include "protocol/doctor.hpp"
#include "protocol/json_codec.hpp"

namespace microagent {
namespace {

using nlohmann::json;
using protocol::CheckStatus;
using protocol::DoctorReport;

DoctorReport sample() {
  DoctorReport report;
  report.backend = "linux-kvm";
  report.accel = "tcg";
  report.can_run = true;
  report.summary = "will run guests with linux-kvm using tcg: because";
  report.checks = {{"kvm.probe", CheckStatus::warn, "cannot run a kernel", "get hardware"},
                   {"qemu.binary", CheckStatus::ok, "/usr/bin/qemu-system-x86_64, QEMU 7.2.22", ""}};
  return report;
}

TEST(DoctorJson, Shape) {
  const json j = protocol::to_json(sample());
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j.size(), 5u);
  EXPECT_EQ(j["backend"], "linux-kvm");
  EXPECT_EQ(j["accel"], "tcg");
  EXPECT_EQ(j["verdict"], "ok");
  EXPECT_TRUE(j["summary"].is_string());
  ASSERT_TRUE(j["checks"].is_array());
  ASSERT_EQ(j["checks"].size(), 2u);
  const json& check = j["checks"][0];
  EXPECT_EQ(check.size(), 4u);
  EXPECT_EQ(check["name"], "kvm.probe");
  EXPECT_EQ(check["status"], "warn");
  EXPECT_EQ(check["detail"], "cannot run a kernel");
  EXPECT_EQ(check["fix"], "get hardware");
  EXPECT_EQ(j["checks"][1]["fix"], "");  // always present, empty when nothing to do
}

TEST(DoctorJson, RoundTrip) {
  auto back = protocol::doctor_report_from_json(protocol::to_json(sample()));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(protocol::to_json(*back), protocol::to_json(sample()));
}

TEST(DoctorJson, BadInputIsInvalidRequest) {
  for (const char* text : {R"([])", R"({"verdict":"ok","checks":[]})", R"({"backend":"x","verdict":"maybe","checks":[]})",
                           R"({"backend":"x","verdict":"ok","checks":[{"name":"a","status":"bad"}]})",
                           R"({"backend":"x","verdict":"ok","checks":{}})"}) {
    auto report = protocol::doctor_report_from_json(json::parse(text));
    ASSERT_FALSE(report) << text;
    EXPECT_EQ(report.error().code, ErrorCode::invalid_request) << text;
  }
}

TEST(DoctorJson, NoFailedCheck) {
  auto report = sample();
  EXPECT_TRUE(protocol::no_check_failed(report.checks));
  report.checks.push_back({"kernel", CheckStatus::fail, "missing", "microagent kernel fetch"});
  EXPECT_FALSE(protocol::no_check_failed(report.checks));
}

TEST(DoctorStateDir, FromTheHostRequest) {
  auto none = protocol::parse_request(R"({"command":"host"})");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->options.host_state_dir);
  auto null = protocol::parse_request(R"({"command":"host","stateDir":null})");
  ASSERT_TRUE(null);
  EXPECT_FALSE(null->options.host_state_dir);
  auto given = protocol::parse_request(R"({"command":"host","stateDir":"/srv/state"})");
  ASSERT_TRUE(given);
  EXPECT_EQ(given->options.host_state_dir.value_or(""), "/srv/state");
  // Refused where the request is decoded: no backend sees a bad one.
  for (const char* text : {R"({"command":"host","stateDir":"relative"})", R"({"command":"host","stateDir":3})",
                           R"({"command":"host","stateDir":""})"}) {
    auto refused = protocol::parse_request(text);
    ASSERT_FALSE(refused) << text;
    EXPECT_EQ(refused.error().code, ErrorCode::invalid_request);
  }
}

TEST(PlatformRouting, LinuxHost) {
  using cli::HostPlatform;
  EXPECT_TRUE(cli::check_backend_for_host("linux-kvm", HostPlatform::linux));
  EXPECT_TRUE(cli::check_backend_for_host("wsl2", HostPlatform::linux));  // the wsl2 supervisor decides
  auto hyperv = cli::check_backend_for_host("windows-hyperv", HostPlatform::linux);
  ASSERT_FALSE(hyperv);
  EXPECT_EQ(hyperv.error().code, ErrorCode::host_unavailable);
  EXPECT_THAT(hyperv.error().message, ::testing::HasSubstr("linux-kvm, wsl2"));
  auto unknown = cli::check_backend_for_host("firecracker", HostPlatform::linux);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::invalid_request);
  EXPECT_EQ(cli::this_platform(), HostPlatform::linux);
}

TEST(PlatformRouting, WindowsHost) {
  using cli::HostPlatform;
  EXPECT_TRUE(cli::check_backend_for_host("windows-hyperv", HostPlatform::windows));
  EXPECT_EQ(cli::check_backend_for_host("linux-kvm", HostPlatform::windows).error().code, ErrorCode::host_unavailable);
  EXPECT_EQ(cli::check_backend_for_host("wsl2", HostPlatform::windows).error().code, ErrorCode::host_unavailable);
}

}  // namespace
}  // namespace microagent
