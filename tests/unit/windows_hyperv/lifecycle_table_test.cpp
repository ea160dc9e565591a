// The shared lifecycle table (tests/support/lifecycle_cases.hpp) against the
// windows-hyperv driver over the fake HCS, through serve_request as the .exe runs it.
#include "backend_fixture.hpp"
#include "support/lifecycle_cases.hpp"

namespace microagent::windows_hyperv::testing {
namespace {

using microagent::testing::From;
using microagent::testing::LifecycleCase;
using microagent::testing::Outcome;

class HypervLifecycleTable : public BackendTest, public ::testing::WithParamInterface<LifecycleCase> {
 protected:
  Outcome outcome(const std::string& command) {
    nlohmann::json options = nullptr;
    if (command == "quarantine") options = {{"noCapture", true}};
    const auto r = send(command, config(), "ws1", options);
    Outcome o;
    o.ok = r.body.value("ok", false);
    o.state = state_of(r);
    o.code = error_code(r);
    o.message = r.body.dump();
    return o;
  }
  void must(const std::string& command, const std::string& state) {
    const Outcome o = outcome(command);
    ASSERT_TRUE(o.ok && o.state == state) << command << ": " << o.message;
  }
  void reach(From from) {
    microagent::testing::reach_with_commands(
        from, [&](const std::string& command, const std::string& state) { must(command, state); },
        [&] { must("start", "running"); },
        [&] {
          // A start that fails half-way (the listener helper cannot be spawned) is recorded failed.
          host.failures = {{"spawn_listener_helper", Error{ErrorCode::internal, "no listener helper"}}};
          const Outcome o = outcome("start");
          host.failures.clear();
          ASSERT_FALSE(o.ok) << o.message;
          must("inspect", "failed");
        });
  }
};

TEST_P(HypervLifecycleTable, FakeHcs) {
  const LifecycleCase& c = GetParam();
  ASSERT_NO_FATAL_FAILURE(reach(c.from));
  microagent::testing::run_lifecycle_case(c, false, [&](const std::string& command) { return outcome(command); });
  const Outcome after = outcome("inspect");
  // Whatever the command did, a workspace that is not running holds nothing on the host.
  if (after.state != "running") {
    EXPECT_TRUE(host.endpoints.empty()) << "endpoint left behind";
    EXPECT_TRUE(host.live_processes.empty()) << "listener helper left running";
    EXPECT_TRUE(host.open_handles.empty()) << "compute system handle left open";
  }
}

INSTANTIATE_TEST_SUITE_P(Table, HypervLifecycleTable, ::testing::ValuesIn(microagent::testing::lifecycle_cases()),
                         microagent::testing::lifecycle_case_name);

}  // namespace
}  // namespace microagent::windows_hyperv::testing
