// The shared lifecycle table (tests/support/lifecycle_cases.hpp) against the
// linux-kvm driver: the real supervisor executable, real QEMU and real guests.
// Each case is its own test (so ctest runs them side by side); only the
// states that need a VM boot one.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <thread>

#include "backends/linux_kvm/vm_handle.hpp"
#include "cli/posix/guest_assets.hpp"
#include "common/process.hpp"
#include "e2e_support.hpp"
#include "support/lifecycle_cases.hpp"

namespace microagent::e2e {
namespace {

using microagent::testing::From;
using microagent::testing::LifecycleCase;
using microagent::testing::Outcome;
using nlohmann::json;
using namespace std::chrono_literals;

class LinuxLifecycleTable : public ::testing::TestWithParam<LifecycleCase> {
 protected:
  void SetUp() override {
    if (!kernel_available()) GTEST_SKIP() << "no guest kernel cached (microagent kernel fetch)";
    auto assets = cli::default_image_assets();
    ASSERT_TRUE(assets) << assets.error().message;
    kernel = assets->kernel;
    initrd = assets->initrd;
  }
  void TearDown() override {
    if (!kernel.empty()) call("kill");
  }

  Outcome call(const std::string& command) {
    json request{{"command", command},
                 {"identity", {{"requestID", "req"}, {"runtimeID", "ws"}, {"role", "workload"}, {"backend", "linux-kvm"}}},
                 {"config",
                  {{"stateDir", tmp.path.string()},
                   {"kernelPath", kernel.string()},
                   {"initrdPath", initrd.string()},
                   {"memoryMiB", 256},
                   {"cpuCount", 1},
                   {"command", json::array({"sh", "-c", "echo table"})}}}};
    if (command == "console") request["input"] = "echo console-input\n";
    if (command == "quarantine") request["options"] = {{"noCapture", true}};
    auto out = run_command({(bin_dir() / "microagent-linux-kvm-supervisor").string()}, request.dump());
    if (!out) return {false, "", "spawn", out.error().message};
    const json r = json::parse(out->out, nullptr, false);
    if (!r.is_object()) return {false, "", "unparsable", out->out};
    Outcome o;
    o.ok = r.value("ok", false);
    if (o.ok) o.state = r["event"].value("state", "");
    if (!o.ok && r.contains("error")) o.code = r["error"].value("code", "");
    o.message = out->out;
    return o;
  }

  void must(const std::string& command, const std::string& state) {
    const Outcome o = call(command);
    ASSERT_TRUE(o.ok && o.state == state) << command << ": " << o.message;
  }

  // A started workspace is usable once guest init reports its connect server.
  void start_ready() {
    must("start", "running");
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline) {
      const json inspect = read_json(tmp.path / "ws" / "readiness.json");
      if (inspect.is_object() && inspect.contains("shellReady") && inspect["shellReady"].value("ready", false)) return;
      std::this_thread::sleep_for(100ms);
    }
    FAIL() << "guest never became shell-ready";
  }

  void reach(From from) {
    microagent::testing::reach_with_commands(
        from, [&](const std::string& command, const std::string& state) { must(command, state); },
        [&] { start_ready(); },
        [&] {
          // The shim and QEMU die without a word (SIGKILL): the next command reconciles to failed.
          ASSERT_NO_FATAL_FAILURE(start_ready());
          const json runtime = read_json(tmp.path / "ws" / "runtime.json");
          const pid_t shim = runtime.value("shimPid", 0), qemu = runtime.value("qemuPid", 0);
          ASSERT_GT(shim, 0);
          ASSERT_GT(qemu, 0);
          ::kill(shim, SIGKILL);
          ::kill(qemu, SIGKILL);
          // Gone for good before the next command looks (SIGKILL is not instant under load).
          ASSERT_TRUE(linux_kvm::wait_for_exit(shim, 10s));
          ASSERT_TRUE(linux_kvm::wait_for_exit(qemu, 10s));
          must("inspect", "failed");
        });
  }

  TempDir tmp;
  std::filesystem::path kernel, initrd;
};

TEST_P(LinuxLifecycleTable, RealQemu) {
  const LifecycleCase& c = GetParam();
  ASSERT_NO_FATAL_FAILURE(reach(c.from));
  microagent::testing::run_lifecycle_case(c, true, [&](const std::string& command) { return call(command); });
}

INSTANTIATE_TEST_SUITE_P(Table, LinuxLifecycleTable, ::testing::ValuesIn(microagent::testing::lifecycle_cases()),
                         microagent::testing::lifecycle_case_name);

}  // namespace
}  // namespace microagent::e2e
