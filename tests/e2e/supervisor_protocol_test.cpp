// The supervisor executable driven with raw JSON through every command and the
// allowed state transitions of docs/lifecycle.md, with real guests.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "cli/posix/guest_assets.hpp"
#include "common/process.hpp"
#include "e2e_support.hpp"

namespace microagent::e2e {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

struct Step {
  std::string command;
  std::string expect;  // the event's state, or "error:<code>"
};

class SupervisorProtocol : public ::testing::Test {
 protected:
  void SetUp() override {
    auto assets = cli::default_image_assets();
    ASSERT_TRUE(assets) << assets.error().message;
    kernel = assets->kernel;
    initrd = assets->initrd;
  }
  void TearDown() override { call("kill", {}); }

  json call(const std::string& command, const json& extra) {
    json request{{"command", command},
                 {"identity", {{"requestID", "req"}, {"runtimeID", "ws"}, {"role", "workload"}, {"backend", "linux-kvm"}}},
                 {"config",
                  {{"stateDir", tmp.path.string()},
                   {"kernelPath", kernel.string()},
                   {"initrdPath", initrd.string()},
                   {"memoryMiB", 256},
                   {"cpuCount", 1},
                   {"command", json::array({"sh", "-c", "echo from-run"})},
                   {"result", {{"port", 1024}}}}}};
    for (const auto& [k, v] : extra.items()) request[k] = v;
    auto out = run_command({(bin_dir() / "microagent-linux-kvm-supervisor").string()}, request.dump());
    if (!out) return json{{"ok", false}, {"error", {{"code", "spawn"}}}};
    json response = json::parse(out->out, nullptr, false);
    // Exit code 0 exactly when ok is true.
    EXPECT_EQ(out->status.exit_code == 0, response.value("ok", false)) << command << ": " << out->out;
    return response;
  }

  void wait_shell_ready() {
    for (int i = 0; i < 300; ++i) {
      auto r = call("inspect", {});
      if (r["event"]["readiness"]["shellReady"]["ready"] == true) return;
      std::this_thread::sleep_for(100ms);
    }
    FAIL() << "shell never became ready";
  }

  TempDir tmp;
  std::filesystem::path kernel, initrd;
};

TEST_F(SupervisorProtocol, EveryCommandAndTransition) {
  const std::vector<Step> steps = {
      {"host", "host"},
      {"check", "unknown"},
      {"prepare", "prepared"},
      {"inspect", "prepared"},
      {"halt", "error:conflict"},        // nothing runs
      {"console", "error:conflict"},
      {"start", "running"},
      {"start", "error:conflict"},       // already running
      {"console", "running"},
      {"halt", "halted"},
      {"start", "running"},
      {"stop", "stopped"},
      {"start", "running"},
      {"kill", "stopped"},
      {"start", "running"},
      {"delete", "error:conflict"},      // running
      {"quarantine", "quarantined"},
      {"start", "error:conflict"},       // quarantined
      {"prepare", "error:conflict"},
      {"halt", "halted"},                // released
      {"start", "running"},
      {"stop", "stopped"},
      {"run", "stopped"},                // foreground run on the same workspace
      {"delete", "unknown"},
      {"inspect", "error:not_found"},
  };
  for (const auto& step : steps) {
    json extra = json::object();
    if (step.command == "console") extra["input"] = "echo console-input\n";
    if (step.command == "quarantine") extra["options"] = {{"noCapture", true}};
    if (step.command == "host") {
      auto r = call("host", {});
      EXPECT_EQ(r["ok"], true);
      EXPECT_TRUE(r["host"].is_object());
      continue;
    }
    const json r = call(step.command, extra);
    ASSERT_TRUE(r.is_object()) << step.command;
    if (step.expect.rfind("error:", 0) == 0) {
      EXPECT_EQ(r["ok"], false) << step.command << ": " << r.dump();
      EXPECT_EQ(r["error"]["code"], step.expect.substr(6)) << step.command << ": " << r.dump();
      continue;
    }
    ASSERT_EQ(r["ok"], true) << step.command << ": " << r.dump();
    EXPECT_EQ(r["backend"], "linux-kvm");
    EXPECT_EQ(r["event"]["state"], step.expect) << step.command << ": " << r.dump();
    EXPECT_FALSE(r["event"]["observedAt"].get<std::string>().empty());
    if (step.command == "start") wait_shell_ready();
    if (step.command == "run") {
      EXPECT_EQ(r["event"]["result"]["exitCode"], 0);
    }
  }
}

}  // namespace
}  // namespace microagent::e2e
