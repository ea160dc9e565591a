// WSL2 detection, the nested-KVM gate, the WSL doctor checks and the wsl2
// backend's fail-closed paths, against fake WSL2 (and non-WSL) roots.
#include <gtest/gtest.h>
#include <gmock/gmock.h>
#include <fcntl.h>
#include <unistd.h>

#include "backends/wsl2/doctor_checks.hpp"
#include "backends/wsl2/wsl2_backend.hpp"
#include "fake_host.hpp"
#include "protocol/json_codec.hpp"

namespace microagent::wsl2 {
namespace {

using doctor_testing::FakeHost;
using doctor_testing::find_check;
using protocol::CheckStatus;
using ::testing::HasSubstr;

// A fake /dev/kvm that is the real device, when this machine has a usable one.
bool link_real_kvm(const FakeHost& host) {
  const int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  ::close(fd);
  std::filesystem::create_directories(host.at("/dev"));
  std::filesystem::create_symlink("/dev/kvm", host.at("/dev/kvm"));
  return true;
}

TEST(WslDetect, Wsl2KernelWithDistroName) {
  FakeHost host;
  host.make_wsl2(false);
  const WslHost wsl = detect_wsl(HostRoot(host.root()), "Ubuntu");
  EXPECT_TRUE(wsl.is_wsl2());
  EXPECT_THAT(wsl.describe(), HasSubstr("Ubuntu"));
  EXPECT_TRUE(require_wsl2(wsl).has_value());
}

TEST(WslDetect, Wsl2KernelWithInteropOnly) {
  FakeHost host;
  host.make_wsl2(true);
  EXPECT_TRUE(detect_wsl(HostRoot(host.root()), "").is_wsl2());
  FakeHost run_wsl;
  run_wsl.make_wsl2(false);
  run_wsl.write("/run/WSL/1_interop", "");
  EXPECT_TRUE(detect_wsl(HostRoot(run_wsl.root()), "").is_wsl2());
}

TEST(WslDetect, Wsl2KernelAloneIsNotEnough) {
  FakeHost host;
  host.make_wsl2(false);
  EXPECT_FALSE(detect_wsl(HostRoot(host.root()), "").is_wsl2());
}

TEST(WslDetect, PlainLinuxAndWsl1AreNotWsl2) {
  FakeHost linux_host;
  linux_host.make_linux();
  const WslHost plain = detect_wsl(HostRoot(linux_host.root()), "");
  EXPECT_FALSE(plain.is_wsl2());
  auto refused = require_wsl2(plain);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::host_unavailable);
  EXPECT_THAT(refused.error().message, HasSubstr("linux-kvm"));

  FakeHost wsl1;
  wsl1.make_linux();
  wsl1.write("/proc/sys/kernel/osrelease", "4.4.0-19041-Microsoft\n");
  const WslHost one = detect_wsl(HostRoot(wsl1.root()), "Ubuntu");
  EXPECT_FALSE(one.is_wsl2());
  EXPECT_TRUE(one.wsl1_kernel);
  EXPECT_EQ(check_wsl_host(one).status, CheckStatus::fail);
  EXPECT_THAT(check_wsl_host(one).fix, HasSubstr("--set-version"));
}

TEST(NestedKvmGate, NamesTheFixes) {
  linux_kvm::KvmProbe absent;
  auto refused = require_nested_kvm(absent);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::host_unavailable);
  EXPECT_THAT(refused.error().message, HasSubstr("wsl --update"));
  EXPECT_THAT(refused.error().message, HasSubstr("VT-x/AMD-V"));
  EXPECT_THAT(refused.error().message, HasSubstr("nestedVirtualization=true"));

  linux_kvm::KvmProbe usable;
  usable.device_present = usable.accessible = usable.vm_created = true;
  usable.api_version = 12;
  EXPECT_TRUE(require_nested_kvm(usable).has_value());  // ring 0 decides kvm vs tcg later, not the gate

  const auto check = check_wsl_kvm(absent);
  EXPECT_EQ(check.status, CheckStatus::fail);
  EXPECT_THAT(check.fix, HasSubstr("wsl --update"));
  EXPECT_EQ(check.detail.find("Fix:"), std::string::npos);
}

TEST(WslConfigFile, ParsesTheWsl2Section) {
  const WslConfig config = parse_wslconfig(
      "# comment\n[experimental]\nmemory=1GB\n[WSL2]\r\n  Memory = 8GB  \nprocessors=4 # four\n"
      "localhostForwarding=False\nnetworkingMode=mirrored\n[other]\nprocessors=99\n");
  EXPECT_EQ(config.memory, "8GB");
  EXPECT_EQ(config.processors, "4");
  EXPECT_EQ(config.localhost_forwarding, "false");
  EXPECT_EQ(config.networking_mode, "mirrored");
}

TEST(WslConfigFile, ReadFromTheWindowsProfile) {
  FakeHost host;
  EXPECT_FALSE(read_wslconfig(HostRoot(host.root())));
  host.write("/mnt/c/Users/Public/desktop.ini", "");
  host.write("/mnt/c/Users/bob/.wslconfig", "[wsl2]\nmemory=6GB\nprocessors=2\n");
  auto config = read_wslconfig(HostRoot(host.root()));
  ASSERT_TRUE(config);
  EXPECT_EQ(config->path, "/mnt/c/Users/bob/.wslconfig");
  EXPECT_EQ(config->memory, "6GB");
}

TEST(WslBudget, MemoryAndCpusFromProcAndWslconfig) {
  FakeHost host;
  host.make_wsl2();
  host.write("/mnt/c/Users/bob/.wslconfig", "[wsl2]\nmemory=8GB\nprocessors=2\n");
  const HostRoot root(host.root());
  const auto config = read_wslconfig(root);
  const auto memory = check_wsl_memory(root, config);
  EXPECT_EQ(memory.status, CheckStatus::ok);
  EXPECT_THAT(memory.detail, HasSubstr("7.7 GiB"));
  EXPECT_THAT(memory.detail, HasSubstr("memory=8GB"));
  const auto cpus = check_wsl_cpus(root, config);
  EXPECT_EQ(cpus.status, CheckStatus::ok);
  EXPECT_THAT(cpus.detail, HasSubstr("2 CPUs"));
  EXPECT_THAT(cpus.detail, HasSubstr("processors=2"));

  host.write("/proc/meminfo", "MemTotal:  524288 kB\n");
  EXPECT_EQ(check_wsl_memory(root, std::nullopt).status, CheckStatus::warn);
  EXPECT_THAT(check_wsl_memory(root, std::nullopt).detail, HasSubstr("no readable .wslconfig"));
}

TEST(WslStateDir, WindowsDrivesFail) {
  EXPECT_TRUE(on_windows_drive("/mnt/c"));
  EXPECT_TRUE(on_windows_drive("/mnt/c/Users/bob/state"));
  EXPECT_TRUE(on_windows_drive("/mnt/d/x/../y"));
  EXPECT_FALSE(on_windows_drive("/mnt/wsl/state"));
  EXPECT_FALSE(on_windows_drive("/home/bob/.microagent/state"));
  const auto bad = check_wsl_state_dir("/mnt/c/Users/bob/state");
  EXPECT_EQ(bad.status, CheckStatus::fail);
  EXPECT_THAT(bad.detail, HasSubstr("case"));
  EXPECT_THAT(bad.fix, HasSubstr("ext4"));
  EXPECT_EQ(check_wsl_state_dir("/home/bob/.microagent/state").status, CheckStatus::ok);
  EXPECT_THAT(check_wsl_reflink().detail, HasSubstr("overlays"));
}

TEST(WslPorts, LocalhostForwardingElseDistroIp) {
  FakeHost host;
  const auto context = host.context();
  const auto forwarded = check_wsl_ports(context, std::nullopt);
  EXPECT_THAT(forwarded.detail, HasSubstr("localhost:<port>"));
  EXPECT_THAT(forwarded.detail, HasSubstr("172.28.1.5"));
  WslConfig off;
  off.localhost_forwarding = "false";
  const auto direct = check_wsl_ports(context, off);
  EXPECT_THAT(direct.detail, HasSubstr("172.28.1.5:<port>"));
  EXPECT_EQ(direct.detail.find("localhost:<port>"), std::string::npos);
  WslConfig mirrored;
  mirrored.networking_mode = "mirrored";
  EXPECT_THAT(check_wsl_ports(context, mirrored).detail, HasSubstr("mirrored"));
}

TEST(Wsl2Doctor, OutsideWsl2IsHostUnavailable) {
  FakeHost host;
  host.make_linux();
  auto doctor = run_wsl2_doctor(host.context(), detect_wsl(HostRoot(host.root()), ""));
  ASSERT_FALSE(doctor);
  EXPECT_EQ(doctor.error().code, ErrorCode::host_unavailable);
}

TEST(Wsl2Doctor, FakeWsl2WithoutKvmFailsWithTheFixes) {
  FakeHost host;
  host.make_wsl2();
  host.make_kernel_artifact();
  host.write_real(host.home() / "bin" / "microagent-guestinit-x86_64", "ELF");
  auto doctor = run_wsl2_doctor(host.context("/home/bob/.microagent/state"), detect_wsl(HostRoot(host.root()), "Ubuntu"));
  ASSERT_TRUE(doctor) << doctor.error().message;
  EXPECT_EQ(doctor->report.backend, "wsl2");
  EXPECT_FALSE(doctor->report.can_run);
  const auto kvm = find_check(doctor->report.checks, "wsl.kvm");
  EXPECT_EQ(kvm.status, CheckStatus::fail);
  EXPECT_THAT(kvm.fix, HasSubstr("wsl --update"));
  EXPECT_THAT(doctor->report.summary, HasSubstr("cannot run guests with wsl2"));
  EXPECT_THAT(doctor->report.summary, HasSubstr("wsl.kvm"));
  EXPECT_EQ(find_check(doctor->report.checks, "wsl.statedir").status, CheckStatus::ok);
  for (const char* name : {"wsl.host", "wsl.memory", "wsl.cpus", "wsl.reflink", "wsl.ports", "kvm.probe", "qemu.devices"}) {
    find_check(doctor->report.checks, name);
  }
}

TEST(Wsl2Doctor, FakeWsl2WithKvmRuns) {
  FakeHost host;
  host.make_wsl2();
  if (!link_real_kvm(host)) GTEST_SKIP() << "no usable /dev/kvm on this machine to stand in for nested KVM";
  host.make_kernel_artifact();
  host.write_real(host.home() / "bin" / "microagent-guestinit-x86_64", "ELF");
  auto doctor = run_wsl2_doctor(host.context("/home/bob/.microagent/state"), detect_wsl(HostRoot(host.root()), "Ubuntu"));
  ASSERT_TRUE(doctor) << doctor.error().message;
  EXPECT_EQ(find_check(doctor->report.checks, "wsl.kvm").status, CheckStatus::ok);
  EXPECT_TRUE(doctor->report.can_run) << doctor->report.summary;
  EXPECT_THAT(doctor->report.summary, HasSubstr("will run guests with wsl2 using " + doctor->accel.accel));
}

TEST(Wsl2Doctor, StateDirOnMntCFails) {
  FakeHost host;
  host.make_wsl2();
  link_real_kvm(host);
  host.make_kernel_artifact();
  host.write_real(host.home() / "bin" / "microagent-guestinit-x86_64", "ELF");
  auto doctor = run_wsl2_doctor(host.context("/mnt/c/Users/bob/microagent"), detect_wsl(HostRoot(host.root()), "Ubuntu"));
  ASSERT_TRUE(doctor);
  EXPECT_FALSE(doctor->report.can_run);
  EXPECT_EQ(find_check(doctor->report.checks, "wsl.statedir").status, CheckStatus::fail);
  EXPECT_THAT(doctor->report.summary, HasSubstr("wsl.statedir"));
}

protocol::Request check_request() {
  auto request = protocol::parse_request(R"({"command":"check",
    "identity":{"requestID":"r1","runtimeID":"w1","backend":"wsl2"},
    "config":{"stateDir":"/tmp/ma-wsl2-never","kernelPath":"/k","initrdPath":"/i","command":["true"]}})");
  EXPECT_TRUE(request) << request.error().message;
  return *request;
}

TEST(Wsl2Backend, OutsideWsl2EveryCommandIsHostUnavailable) {
  FakeHost host;
  host.make_linux();
  Wsl2Backend backend(host.context(), "");
  EXPECT_EQ(backend.name(), "wsl2");
  auto facts = backend.host_facts();
  ASSERT_FALSE(facts);
  EXPECT_EQ(facts.error().code, ErrorCode::host_unavailable);
  auto event = backend.handle(check_request());
  ASSERT_FALSE(event);
  EXPECT_EQ(event.error().code, ErrorCode::host_unavailable);
  EXPECT_THAT(event.error().message, HasSubstr("only inside a WSL2 distro"));
}

TEST(Wsl2Backend, InsideWsl2WithoutKvmLifecycleFailsClosedButHostAnswers) {
  FakeHost host;
  host.make_wsl2();
  Wsl2Backend backend(host.context("/home/bob/state"), "Ubuntu");
  auto event = backend.handle(check_request());
  ASSERT_FALSE(event);
  EXPECT_EQ(event.error().code, ErrorCode::host_unavailable);
  EXPECT_THAT(event.error().message, HasSubstr("wsl --update"));

  auto facts = backend.host_facts();
  ASSERT_TRUE(facts) << facts.error().message;
  ASSERT_TRUE(facts->contains("doctor"));
  EXPECT_EQ((*facts)["doctor"]["backend"], "wsl2");
  EXPECT_EQ((*facts)["doctor"]["verdict"], "fail");
  EXPECT_EQ((*facts)["wsl"]["distro"], "Ubuntu");
}

TEST(Wsl2Backend, HostRequestStateDirIsChecked) {
  FakeHost host;
  host.make_wsl2();
  Wsl2Backend backend(host.context("/home/bob/state"), "Ubuntu");
  auto request = protocol::parse_request(R"({"command":"host","stateDir":"/mnt/c/Users/bob/state"})");
  ASSERT_TRUE(request);
  auto facts = backend.host_facts(*request);
  ASSERT_TRUE(facts) << facts.error().message;
  auto report = protocol::doctor_report_from_json((*facts)["doctor"]);
  ASSERT_TRUE(report);
  EXPECT_EQ(find_check(report->checks, "wsl.statedir").status, CheckStatus::fail);
}

}  // namespace
}  // namespace microagent::wsl2
