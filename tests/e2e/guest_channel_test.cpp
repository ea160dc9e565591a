// The host's guest-initiated channels (result 1024, control 1026) against a
// hostile workload (tests/guest/vsock_hostile.cpp, put in the guest as a
// read-only volume): one connection per channel per boot, opened by guest init
// before the workload, so squatting, reconnecting or forging cannot stall the
// run past its timeout or change what the CLI reports. And a running shim
// notices passt dying under a user-mode workspace and says "degraded".
#include <gtest/gtest.h>
#include <signal.h>

#include <functional>
#include <thread>

#include "common/base64.hpp"
#include "e2e_support.hpp"

namespace microagent::e2e {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class GuestChannelE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(kernel_available()) << "run `build/bin/microagent kernel fetch`";
    const auto program = bin_dir() / "test-guest-vsock_hostile";
    ASSERT_TRUE(std::filesystem::exists(program)) << "build the test-guest-vsock_hostile target";
    std::filesystem::create_directories(tmp.path / "vol");
    std::filesystem::copy_file(program, tmp.path / "vol" / "hostile");
  }
  void TearDown() override {
    run_cli(tmp.path, {"kill", "ws"});
    run_cli(tmp.path, {"delete", "ws"});
  }
  std::string volume() const { return (tmp.path / "vol").string() + ":/vol:ro"; }
  json inspect() { return json::parse(run_cli(tmp.path, {"--json", "inspect", "ws"}).out, nullptr, false); }
  bool wait_until(const std::function<bool(const json&)>& done, std::chrono::seconds timeout) {
    for (auto deadline = std::chrono::steady_clock::now() + timeout; std::chrono::steady_clock::now() < deadline;) {
      if (auto event = inspect(); event.is_object() && done(event)) return true;
      std::this_thread::sleep_for(200ms);
    }
    return false;
  }
  // A run whose workload never ends must end at its timeout, whatever it does on the result port.
  void expect_ends_at_the_timeout(const std::string& mode) {
    auto run = run_cli(tmp.path, {"--json", "run", "--name", "squat", "--timeout", "5", "--volume", volume(), "--",
                                  "/vol/hostile", mode, "1024"});
    // The deadline starts once QEMU runs; it may take 2 s to terminate it. Before one
    // connection per boot, the host's 30 s blocking read made this 35 s and more.
    EXPECT_LT(run.seconds, 5 + 9.0) << run.out << run.err;
    EXPECT_NE(run.exit_code, 0);
    // No result: the answer is an error that names the timeout.
    auto answer = json::parse(run.out, nullptr, false);
    ASSERT_TRUE(answer.is_object() && answer.contains("error")) << run.out << run.err;
    EXPECT_EQ(answer["ok"], false);
    EXPECT_NE(answer["error"].value("message", "").find("timed out after 5 s"), std::string::npos) << run.out;
    // The workload's output dies with the VM; it also logs to the console (serial.log).
    const std::string serial = read_text(tmp.path / "squat" / "serial.log");
    EXPECT_NE(serial.find("hostile: " + mode + " refused on 1024"), std::string::npos) << serial;
    EXPECT_EQ(serial.find("hostile: " + mode + " connected"), std::string::npos)
        << "the workload got a connection: guest init's was not the first";
  }
  TempDir tmp;
};

TEST_F(GuestChannelE2E, SilentConnectorOnTheResultPortCannotOutlastTheTimeout) { expect_ends_at_the_timeout("silent"); }

TEST_F(GuestChannelE2E, ReconnectLoopOnTheResultPortIsBoundedByTheTimeout) { expect_ends_at_the_timeout("reconnect"); }

TEST_F(GuestChannelE2E, AForgedResultIsRefusedAndTheWorkloadsExitCodeStands) {
  auto run = run_cli(tmp.path, {"run", "--name", "forge", "--volume", volume(), "--", "sh", "-c",
                                "/vol/hostile forge 1024; exit 3"});
  EXPECT_EQ(run.exit_code, 3) << run.out << run.err;
  EXPECT_EQ(run.out.find("FORGED"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("hostile: forge refused on 1024"), std::string::npos) << run.out << run.err;
  auto result = read_json(tmp.path / "forge" / "result.json");
  EXPECT_EQ(result["exitCode"], 3);
  EXPECT_NE(result["kernelRelease"], "forged");
}

TEST_F(GuestChannelE2E, ForgedReadinessFromAWorkloadIsIgnored) {
  auto start = run_cli(tmp.path, {"start", "ws", "--network", "isolated", "--volume", volume(), "--", "/vol/hostile",
                                  "ready", "1026"});
  ASSERT_EQ(start.exit_code, 0) << start.err;
  // The workload has run once its result is in; guest init's readiness came before it.
  ASSERT_TRUE(wait_until([](const json& e) { return e["readiness"]["resultReady"]["ready"] == true; }, 90s));
  auto event = inspect();
  EXPECT_EQ(event["readiness"]["shellReady"]["ready"], true);
  EXPECT_NE(event["readiness"]["shellReady"]["observedAt"], "2001-01-01T00:00:00Z") << event.dump();
  EXPECT_NE(event["readiness"]["guestReady"]["observedAt"], "2001-01-01T00:00:00Z") << event.dump();
  auto result = read_json(tmp.path / "ws" / "result.json");
  auto out = base64_decode(result["stdout"].get<std::string>());
  ASSERT_TRUE(out);
  EXPECT_NE(out->find("hostile: ready refused on 1026"), std::string::npos) << *out;
}

TEST_F(GuestChannelE2E, PasstDyingUnderAUserModeWorkspaceShowsDegraded) {
  if (!find_program("passt")) GTEST_SKIP() << "passt is not installed";
  auto start = run_cli(tmp.path, {"start", "ws", "--network", "user"});
  ASSERT_EQ(start.exit_code, 0) << start.err;
  const auto runtime = read_json(tmp.path / "ws" / "runtime.json");
  ASSERT_TRUE(runtime["network"].contains("passtPid")) << runtime.dump();
  const pid_t passt = runtime["network"]["passtPid"].get<pid_t>();
  ASSERT_EQ(::kill(passt, SIGKILL), 0);
  ASSERT_TRUE(wait_until(
      [](const json& e) { return e.value("detail", std::string()).rfind("degraded: ", 0) == 0; }, 20s))
      << inspect().dump();
  auto event = inspect();
  EXPECT_EQ(event["state"], "running");
  const auto after = read_json(tmp.path / "ws" / "runtime.json");
  ASSERT_TRUE(after.contains("degraded")) << after.dump();
  ASSERT_EQ(after["degraded"].size(), 1u);
  EXPECT_EQ(after["degraded"][0]["component"], "passt");
  // The VM itself still runs and stops as usual.
  auto stop = run_cli(tmp.path, {"stop", "ws"});
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_EQ(inspect()["state"], "stopped");
}

}  // namespace
}  // namespace microagent::e2e
