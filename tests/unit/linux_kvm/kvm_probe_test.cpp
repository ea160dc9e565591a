#include "backends/linux_kvm/kvm_probe.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace microagent::linux_kvm {
namespace {

// Sets or clears MICROAGENT_ACCEL for one test and puts the old value back.
class ScopedAccelEnv {
 public:
  explicit ScopedAccelEnv(const char* value) {
    if (const char* old = ::getenv(kName)) old_ = old;
    if (value) ::setenv(kName, value, 1);
    else ::unsetenv(kName);
  }
  ~ScopedAccelEnv() {
    if (old_) ::setenv(kName, old_->c_str(), 1);
    else ::unsetenv(kName);
  }

 private:
  static constexpr const char* kName = "MICROAGENT_ACCEL";
  std::optional<std::string> old_;
};

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

KvmProbe working_probe() {
  KvmProbe p;
  p.device_present = p.accessible = p.vm_created = p.ring0_ok = true;
  p.api_version = 12;
  p.probe_ms = 0.3;
  p.detail = "ring-0 probe ran in 0.30 ms";
  return p;
}

KvmProbe pvm_probe() {
  KvmProbe p;
  p.device_present = p.accessible = p.vm_created = true;
  p.api_version = 12;
  p.detail = "KVM internal error, suberror 1 (emulation failure) at cmpxchg16b, rip 0x4024";
  return p;
}

TEST(KvmProbe, MissingDeviceIsReportedAndTcgChosen) {
  ScopedAccelEnv env(nullptr);
  const std::filesystem::path missing = "/nonexistent/microagent-test/kvm";
  KvmProbe probe = probe_kvm(missing);
  EXPECT_FALSE(probe.device_present);
  EXPECT_FALSE(probe.accessible);
  EXPECT_FALSE(probe.ring0_ok);
  AccelChoice choice = choose_accel(missing);
  EXPECT_EQ(choice.accel, "tcg");
  EXPECT_EQ(choice.cpu, "max");
  EXPECT_TRUE(contains(choice.reason, missing.string())) << choice.reason;
  EXPECT_TRUE(contains(choice.reason, "does not exist")) << choice.reason;
}

TEST(KvmProbe, DeviceThatIsNotKvmFailsCleanly) {
  KvmProbe probe = probe_kvm("/dev/null");
  EXPECT_TRUE(probe.device_present);
  EXPECT_FALSE(probe.ring0_ok);
  EXPECT_FALSE(probe.vm_created);
  EXPECT_FALSE(probe.detail.empty());
}

// On these machines /dev/kvm is the software PVM module: the probe must see
// that ring-0 code cannot run, quickly. On a host with hardware KVM the probe
// must pass instead; the test then checks that.
TEST(KvmProbe, HostDeviceVerdictIsFastAndConsistent) {
  if (!std::filesystem::exists("/dev/kvm")) GTEST_SKIP() << "no /dev/kvm";
  ScopedAccelEnv env(nullptr);
  auto start = std::chrono::steady_clock::now();
  AccelChoice choice = choose_accel();
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, std::chrono::seconds(2));
  EXPECT_FALSE(choice.probe.detail.empty());
  std::cout << "reason: " << choice.reason << "\n";
  if (choice.probe.ring0_ok) {
    EXPECT_EQ(choice.accel, "kvm");
    EXPECT_EQ(choice.cpu, "host");
  } else {
    EXPECT_EQ(choice.accel, "tcg");
    EXPECT_EQ(choice.cpu, "max");
    EXPECT_TRUE(contains(choice.reason, "cannot")) << choice.reason;
  }
}

// The fact of DESIGN.md section 5, asserted where it holds: the PVM machines
// load the kvm_pvm module (MICROAGENT_EXPECT_PVM=1 makes it binding elsewhere).
TEST(KvmProbe, PvmHostFailsRing0Probe) {
  if (!std::filesystem::exists("/sys/module/kvm_pvm") && !::getenv("MICROAGENT_EXPECT_PVM"))
    GTEST_SKIP() << "not a PVM host";
  // Some machines load the kvm_pvm module but have no /dev/kvm node at all:
  // there is no VM to probe, so the ring-0 failure cannot be observed.
  if (!std::filesystem::exists("/dev/kvm")) GTEST_SKIP() << "kvm_pvm is loaded but there is no /dev/kvm node";
  ScopedAccelEnv env(nullptr);
  auto start = std::chrono::steady_clock::now();
  AccelChoice choice = choose_accel();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  const KvmProbe& probe = choice.probe;
  EXPECT_TRUE(probe.device_present);
  EXPECT_TRUE(probe.accessible);
  EXPECT_EQ(probe.api_version, 12);
  EXPECT_TRUE(probe.vm_created) << probe.detail;
  EXPECT_FALSE(probe.ring0_ok) << probe.detail;
  EXPECT_TRUE(contains(probe.detail, "KVM internal error")) << probe.detail;
  EXPECT_EQ(choice.accel, "tcg");
  EXPECT_EQ(choice.cpu, "max");
  EXPECT_TRUE(contains(choice.reason, "cannot run ring-0 guest code")) << choice.reason;
}

TEST(KvmProbe, RepeatedProbesDoNotLeakOrHang) {
  if (!std::filesystem::exists("/dev/kvm")) GTEST_SKIP() << "no /dev/kvm";
  KvmProbe first = probe_kvm();
  for (int i = 0; i < 5; ++i) {
    KvmProbe again = probe_kvm();
    EXPECT_EQ(again.ring0_ok, first.ring0_ok);
    EXPECT_EQ(again.vm_created, first.vm_created);
  }
}

TEST(KvmProbe, OverrideForcesKvm) {
  ScopedAccelEnv env("kvm");
  AccelChoice choice = choose_accel("/nonexistent/microagent-test/kvm");
  EXPECT_EQ(choice.accel, "kvm");
  EXPECT_EQ(choice.cpu, "host");
  EXPECT_TRUE(contains(choice.reason, "MICROAGENT_ACCEL=kvm")) << choice.reason;
  EXPECT_TRUE(contains(choice.reason, "probe failed")) << choice.reason;
}

TEST(KvmProbe, OverrideForcesTcg) {
  ScopedAccelEnv env("tcg");
  AccelChoice choice = choose_accel("/nonexistent/microagent-test/kvm");
  EXPECT_EQ(choice.accel, "tcg");
  EXPECT_EQ(choice.cpu, "max");
  EXPECT_TRUE(contains(choice.reason, "MICROAGENT_ACCEL=tcg")) << choice.reason;
}

struct DecideCase {
  const char* name;
  KvmProbe probe;
  const char* override_value;
  const char* accel;
  const char* cpu;
  std::vector<const char*> reason_has;
};

TEST(DecideAccel, Table) {
  KvmProbe missing;
  missing.detail = "/dev/kvm does not exist";
  KvmProbe denied;
  denied.device_present = true;
  denied.detail = "cannot open /dev/kvm: Permission denied";
  KvmProbe no_vm;
  no_vm.device_present = no_vm.accessible = true;
  no_vm.api_version = 12;
  no_vm.detail = "KVM_CREATE_VM failed: Device or resource busy";

  const std::vector<DecideCase> cases = {
      {"working kvm", working_probe(), "", "kvm", "host", {"kvm: /dev/kvm runs ring-0 guest code", "0.30 ms"}},
      {"pvm", pvm_probe(), "", "tcg", "max",
       {"/dev/kvm is present but cannot run ring-0 guest code", "suberror 1", "cmpxchg16b", "software PVM",
        "using tcg"}},
      {"missing", missing, "", "tcg", "max", {"/dev/kvm does not exist", "using tcg"}},
      {"denied", denied, "", "tcg", "max", {"not accessible", "Permission denied", "kvm group"}},
      {"no vm", no_vm, "", "tcg", "max", {"cannot create a probe VM", "KVM_CREATE_VM"}},
      {"forced kvm on pvm", pvm_probe(), "kvm", "kvm", "host", {"forced by MICROAGENT_ACCEL=kvm", "probe failed",
                                                                "cmpxchg16b", "may not boot"}},
      {"forced kvm on working", working_probe(), "kvm", "kvm", "host", {"forced by MICROAGENT_ACCEL=kvm"}},
      {"forced tcg on working", working_probe(), "tcg", "tcg", "max", {"forced by MICROAGENT_ACCEL=tcg"}},
      {"bad override ignored", working_probe(), "whpx", "kvm", "host", {"MICROAGENT_ACCEL=whpx ignored"}},
      {"bad override on pvm", pvm_probe(), "KVM", "tcg", "max", {"MICROAGENT_ACCEL=KVM ignored"}},
  };
  for (const auto& c : cases) {
    AccelChoice choice = decide_accel(c.probe, c.override_value);
    EXPECT_EQ(choice.accel, c.accel) << c.name;
    EXPECT_EQ(choice.cpu, c.cpu) << c.name;
    EXPECT_EQ(choice.probe.detail, c.probe.detail) << c.name;
    EXPECT_EQ(choice.reason.find('\n'), std::string::npos) << c.name;
    for (const char* part : c.reason_has) EXPECT_TRUE(contains(choice.reason, part)) << c.name << ": " << choice.reason;
  }
}

}  // namespace
}  // namespace microagent::linux_kvm
