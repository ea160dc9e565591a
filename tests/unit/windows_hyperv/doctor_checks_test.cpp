// windows-hyperv doctor: each host fact, through the same interface the fake
// implements, becomes a check with its fix; the `host` response fails closed
// when HCS is missing.
#include "backends/windows_hyperv/doctor_checks.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "backends/windows_hyperv/windows_hyperv_backend.hpp"
#include "fake_windows_host.hpp"
#include "supervisor/backend.hpp"

namespace microagent::windows_hyperv {
namespace {

using protocol::CheckStatus;
using testing::FakeWindowsHost;

class DoctorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/ma-hyperv-doctor-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir = pattern;
    std::filesystem::create_directories(dir / "kernel");
    std::ofstream(dir / "kernel" / "vmlinux") << "k";
    std::ofstream(dir / "microagent-guestinit-x86_64") << "g";
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  DoctorInputs inputs(const HostCapabilities& caps) const {
    return {caps, dir / "kernel", dir / "microagent-guestinit-x86_64"};
  }
  static const protocol::DoctorCheck& find(const protocol::DoctorReport& report, const std::string& name) {
    for (const auto& check : report.checks) {
      if (check.name == name) return check;
    }
    static protocol::DoctorCheck none;
    ADD_FAILURE() << "no check " << name;
    return none;
  }
  std::filesystem::path dir;
};

TEST_F(DoctorTest, AllGoodCanRun) {
  const auto report = run_hyperv_doctor(inputs(FakeWindowsHost::all_ok()));
  EXPECT_TRUE(report.can_run);
  EXPECT_EQ(report.backend, "windows-hyperv");
  EXPECT_EQ(report.accel, "hyperv");
  EXPECT_EQ(report.checks.size(), 8u);
  for (const auto& check : report.checks) EXPECT_EQ(check.status, CheckStatus::ok) << check.name;
}

// Table: which fact fails -> which check fails, and a word its fix must contain.
TEST_F(DoctorTest, EachFailingFactNamesItsFix) {
  struct Row {
    HostFact HostCapabilities::*fact;
    const char* check;
    const char* fix_word;
  };
  const Row rows[] = {
      {&HostCapabilities::hcs, "hcs.available", "Enable-WindowsOptionalFeature"},
      {&HostCapabilities::virtualization, "hcs.virtualization", "ExposeVirtualizationExtensions"},
      {&HostCapabilities::hcs_access, "hcs.access", "Hyper-V Administrators"},
      {&HostCapabilities::hcn, "hcn.available", "Start-Service hns"},
      {&HostCapabilities::hvsocket, "hvsocket.available", "AF_HYPERV"},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.check);
    HostCapabilities caps = FakeWindowsHost::all_ok();
    caps.*row.fact = {false, "seen: broken"};
    const auto report = run_hyperv_doctor(inputs(caps));
    EXPECT_FALSE(report.can_run);
    EXPECT_EQ(report.accel, "");
    const auto& check = find(report, row.check);
    EXPECT_EQ(check.status, CheckStatus::fail);
    EXPECT_EQ(check.detail, "seen: broken");
    EXPECT_NE(check.fix.find(row.fix_word), std::string::npos) << check.fix;
    EXPECT_NE(report.summary.find("seen: broken"), std::string::npos);
  }
}

TEST_F(DoctorTest, KernelArtifactAndGuestInit) {
  std::filesystem::remove(dir / "kernel" / "vmlinux");
  std::filesystem::remove(dir / "microagent-guestinit-x86_64");
  const auto report = run_hyperv_doctor(inputs(FakeWindowsHost::all_ok()));
  EXPECT_EQ(find(report, "kernel.artifact").status, CheckStatus::fail);
  EXPECT_EQ(find(report, "kernel.artifact").fix, "run: microagent kernel fetch");
  EXPECT_EQ(find(report, "guestinit.binary").status, CheckStatus::fail);
  std::ofstream(dir / "kernel" / "bzImage") << "k";
  EXPECT_EQ(find(run_hyperv_doctor(inputs(FakeWindowsHost::all_ok())), "kernel.artifact").status, CheckStatus::ok);
}

TEST_F(DoctorTest, ConsoleCapabilityIsReadOnlyCom1) {
  auto report = run_hyperv_doctor(inputs(FakeWindowsHost::all_ok()));
  EXPECT_NE(find(report, "console.capability").detail.find("connect"), std::string::npos);
  HostCapabilities caps = FakeWindowsHost::all_ok();
  caps.named_pipes = {false, "no pipes"};
  report = run_hyperv_doctor(inputs(caps));
  EXPECT_EQ(find(report, "console.capability").status, CheckStatus::warn);
  EXPECT_TRUE(report.can_run) << "a missing console is a warning, not a failure";
}

TEST_F(DoctorTest, RequireHostGatesOnTheSameFacts) {
  EXPECT_TRUE(require_host(FakeWindowsHost::all_ok(), true));
  HostCapabilities caps = FakeWindowsHost::all_ok();
  caps.hcn = {false, "no HNS"};
  EXPECT_TRUE(require_host(caps, false)) << "isolated needs no HCN";
  EXPECT_EQ(require_host(caps, true).error().code, ErrorCode::host_unavailable);
  caps = FakeWindowsHost::all_ok();
  caps.hcs_access = {false, "denied"};
  EXPECT_EQ(require_host(caps, false).error().code, ErrorCode::permission_denied);
}

TEST_F(DoctorTest, HostResponseCarriesTheReport) {
  FakeWindowsHost host;
  WindowsHypervBackend backend(host, {dir / "kernel", dir / "microagent-guestinit-x86_64"});
  auto response = supervisor::serve_request(backend, R"({"command":"host"})");
  ASSERT_EQ(response.exit_code, 0) << response.body.dump();
  EXPECT_EQ(response.body["host"]["os"], "windows");
  EXPECT_EQ(response.body["host"]["doctor"]["backend"], "windows-hyperv");
  EXPECT_EQ(response.body["host"]["doctor"]["verdict"], "ok");
}

TEST_F(DoctorTest, HostWithoutHcsFailsClosedWithTheReason) {
  FakeWindowsHost host;
  host.caps.hcs = {false, "computecore.dll could not be loaded: Module not found (0x0000007E)"};
  WindowsHypervBackend backend(host, {dir / "kernel", dir / "microagent-guestinit-x86_64"});
  auto response = supervisor::serve_request(backend, R"({"command":"host"})");
  EXPECT_EQ(response.exit_code, 1);
  EXPECT_EQ(response.body["ok"], false);
  EXPECT_EQ(response.body["error"]["code"], "host_unavailable");
  const std::string message = response.body["error"]["message"];
  EXPECT_NE(message.find("computecore.dll"), std::string::npos);
  EXPECT_NE(message.find("Fix:"), std::string::npos);
}

}  // namespace
}  // namespace microagent::windows_hyperv
