// The shared lifecycle against a fake driver: every case of the one table
// (tests/support/lifecycle_cases.hpp), reconcile, and what the lifecycle
// promises whatever the driver does (no trace of a refused request, release
// failures reported, inspect never reconciling under a running command).
#include "supervisor/lifecycle.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <fstream>

#include "protocol/json_codec.hpp"
#include "supervisor/event_factory.hpp"
#include "supervisor/workspace_records.hpp"
#include "support/lifecycle_cases.hpp"

namespace microagent::supervisor {
namespace {

using microagent::testing::From;
using microagent::testing::LifecycleCase;
using microagent::testing::Outcome;
using protocol::Event;
using protocol::State;

// A VM that is a flag: launch raises it, end and sever lower it.
class FakeDriver : public LifecycleDriver {
 public:
  std::string_view backend() const override { return "fake"; }
  Result<void> check(const protocol::Request&) override {
    calls.push_back("check");
    if (refuse_check) return fail(ErrorCode::host_unavailable, "the fake host says no");
    return {};
  }
  Result<std::string> prepare(const RuntimeStore&, const protocol::Request&) override {
    calls.push_back("prepare");
    return std::string("prepared by the fake");
  }
  Result<Event> launch(const RuntimeStore& store, const protocol::Request& request, bool) override {
    calls.push_back("launch");
    store.record(event_for(request, backend(), State::starting, "starting"));
    if (fail_launch) {
      store.record(event_for(request, backend(), State::failed, "launch failed"));
      return fail(ErrorCode::internal, "launch failed");
    }
    vm_alive = true;
    return record(store, event_for(request, backend(), State::running, "running"));
  }
  bool alive(const RuntimeStore&) override { return vm_alive; }
  std::optional<Settlement> reconcile(const RuntimeStore&) override {
    calls.push_back("reconcile");
    if (!crashed) return std::nullopt;
    crashed = vm_alive = false;
    return Settlement{State::failed, "owner died"};
  }
  Result<Event> end(const RuntimeStore& store, const protocol::Request& request, VmEnding how) override {
    calls.push_back("end");
    vm_alive = false;
    const State to = how == VmEnding::halt ? State::halted : State::stopped;
    return record(store, event_for(request, backend(), to, "ended"));
  }
  std::string capture(const RuntimeStore&, const protocol::Request&) override {
    calls.push_back("capture");
    return "evidence: fake";
  }
  Result<Event> sever(const RuntimeStore& store, const protocol::Request& request, const std::string& evidence) override {
    calls.push_back("sever");
    vm_alive = false;
    return record(store, event_for(request, backend(), State::quarantined, "quarantined; " + evidence));
  }
  Result<void> release(const RuntimeStore&) override {
    calls.push_back("release");
    if (release_error) return fail(ErrorCode::internal, "endpoint stuck");
    return {};
  }
  std::optional<std::string> console_unsupported() const override { return std::nullopt; }
  Result<void> console(const RuntimeStore&, const std::string& input) override {
    console_input += input;
    return {};
  }
  void describe(const RuntimeStore&, const protocol::Request&, Event& event) override {
    event.readiness = protocol::Readiness{};
  }

  bool vm_alive = false, crashed = false, fail_launch = false, refuse_check = false, release_error = false;
  std::vector<std::string> calls;
  std::string console_input;
};

class LifecycleHarness {
 public:
  LifecycleHarness() {
    char pattern[] = "/tmp/ma-lifecycle-XXXXXX";
    dir = ::mkdtemp(pattern);
  }
  ~LifecycleHarness() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  Outcome send(const std::string& command, nlohmann::json extra = nlohmann::json::object()) {
    nlohmann::json request{{"command", command},
                           {"identity", {{"requestID", "r"}, {"runtimeID", "ws1"}, {"role", "workload"},
                                         {"backend", "linux-kvm"}}},
                           {"config", {{"stateDir", (dir / "state").string()},
                                       {"kernelPath", "/k"},
                                       {"memoryMiB", 256},
                                       {"cpuCount", 1}}}};
    if (command == "console") request["input"] = "echo hi\n";
    for (const auto& [k, v] : extra.items()) request[k] = v;
    auto decoded = protocol::parse_request(request.dump());
    if (!decoded) return {false, "", std::string(microagent::to_string(decoded.error().code)), decoded.error().message};
    auto served = serve_lifecycle(driver, *decoded);
    if (!served) return {false, "", std::string(microagent::to_string(served.error().code)), served.error().message};
    return {true, std::string(protocol::to_string(served->state)), "", served->detail};
  }

  void reach(From from) {
    auto must = [&](const std::string& command, const std::string& state) {
      const Outcome o = send(command);
      ASSERT_TRUE(o.ok && o.state == state) << command << " -> " << o.state << o.code << " " << o.message;
    };
    microagent::testing::reach_with_commands(
        from, must, [&] { must("start", "running"); },
        [&] {
          // The owner dies under a running VM: the next command reconciles it to failed.
          must("start", "running");
          driver.crashed = true;
          must("inspect", "failed");
        });
  }

  std::filesystem::path dir;
  FakeDriver driver;
};

class SharedLifecycleTable : public ::testing::TestWithParam<LifecycleCase> {};

TEST_P(SharedLifecycleTable, FakeDriver) {
  const LifecycleCase& c = GetParam();
  LifecycleHarness h;
  ASSERT_NO_FATAL_FAILURE(h.reach(c.from));
  microagent::testing::run_lifecycle_case(c, true, [&](const std::string& command) { return h.send(command); });
}

INSTANTIATE_TEST_SUITE_P(Table, SharedLifecycleTable, ::testing::ValuesIn(microagent::testing::lifecycle_cases()),
                         microagent::testing::lifecycle_case_name);

TEST(SharedLifecycle, ARefusedCheckLeavesNoTrace) {
  LifecycleHarness h;
  h.driver.refuse_check = true;
  EXPECT_EQ(h.send("start").code, "host_unavailable");
  EXPECT_EQ(h.send("prepare").code, "host_unavailable");
  EXPECT_FALSE(std::filesystem::exists(h.dir / "state" / "ws1"));
}

TEST(SharedLifecycle, AFailedLaunchIsRecordedAndStartsAgain) {
  LifecycleHarness h;
  h.driver.fail_launch = true;
  EXPECT_EQ(h.send("start").code, "internal");
  EXPECT_EQ(h.send("inspect").state, "failed");
  h.driver.fail_launch = false;
  EXPECT_EQ(h.send("start").state, "running");
}

TEST(SharedLifecycle, HaltOfAPreparedWorkspaceSaysItWasNeverStarted) {
  LifecycleHarness h;
  h.reach(From::prepared);
  const Outcome o = h.send("halt");
  EXPECT_EQ(o.code, "conflict");
  EXPECT_NE(o.message.find("was never started"), std::string::npos) << o.message;
}

TEST(SharedLifecycle, QuarantineCapturesBeforeItSevers) {
  LifecycleHarness h;
  h.reach(From::running);
  EXPECT_EQ(h.send("quarantine").state, "quarantined");
  const auto& calls = h.driver.calls;
  const auto capture = std::find(calls.begin(), calls.end(), "capture");
  ASSERT_NE(capture, calls.end());
  EXPECT_LT(capture, std::find(calls.begin(), calls.end(), "sever"));
}

TEST(SharedLifecycle, NoCaptureSkipsTheEvidence) {
  LifecycleHarness h;
  h.reach(From::running);
  const Outcome o = h.send("quarantine", {{"options", {{"noCapture", true}}}});
  EXPECT_EQ(o.state, "quarantined");
  EXPECT_EQ(std::count(h.driver.calls.begin(), h.driver.calls.end(), "capture"), 0);
  EXPECT_NE(o.message.find("--no-capture"), std::string::npos) << o.message;
}

TEST(SharedLifecycle, AReleaseFailureIsReportedNotHidden) {
  LifecycleHarness h;
  h.reach(From::quarantined);
  h.driver.release_error = true;
  const Outcome stopped = h.send("stop");
  EXPECT_EQ(stopped.state, "stopped");
  EXPECT_NE(stopped.message.find("endpoint stuck"), std::string::npos) << stopped.message;
  // delete keeps a workspace whose host resources could not be released.
  EXPECT_EQ(h.send("delete").code, "internal");
  EXPECT_EQ(h.send("inspect").state, "stopped");
}

TEST(SharedLifecycle, ConsoleWritesTheInputToARunningVm) {
  LifecycleHarness h;
  h.reach(From::running);
  const Outcome o = h.send("console");
  EXPECT_EQ(o.state, "running");
  EXPECT_EQ(h.driver.console_input, "echo hi\n");
}

TEST(SharedLifecycle, InspectDoesNotReconcileWhileACommandHoldsTheLock) {
  LifecycleHarness h;
  h.reach(From::running);
  h.driver.crashed = true;
  {
    RuntimeStore store(h.dir / "state", protocol::RuntimeId::parse("ws1").value());
    auto held = store.lock();
    ASSERT_TRUE(held);
    EXPECT_EQ(h.send("inspect").state, "running");
  }
  EXPECT_EQ(h.send("inspect").state, "failed");
}

TEST(SharedLifecycle, ADirectoryThatIsNotAWorkspaceIsNotFound) {
  LifecycleHarness h;
  std::filesystem::create_directories(h.dir / "state" / "ws1");
  std::ofstream(h.dir / "state" / "ws1" / "keep") << "not ours";
  for (const char* command : {"halt", "stop", "kill", "quarantine", "delete", "console", "inspect"}) {
    EXPECT_EQ(h.send(command).code, "not_found") << command;
  }
  EXPECT_TRUE(std::filesystem::exists(h.dir / "state" / "ws1" / "keep"));
  EXPECT_TRUE(h.driver.calls.empty() ||
              std::find(h.driver.calls.begin(), h.driver.calls.end(), "release") == h.driver.calls.end());
}

}  // namespace
}  // namespace microagent::supervisor
