// --publish, mediation, isolated and cleanup end to end (real TCG guests, host loopback only).
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <thread>

#include "e2e_support.hpp"
#include "network_support.hpp"

namespace microagent::e2e {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class NetworkPublishTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(kernel_available()) << "run `build/bin/microagent kernel fetch`"; }
  void TearDown() override {
    run_cli(tmp.path, {"kill", "ws"});
    run_cli(tmp.path, {"delete", "ws"});
  }
  json runtime() { return read_json(tmp.path / "ws" / "runtime.json"); }
  // Waits until the published port serves the index page (the guest boots under TCG).
  bool wait_for_http(std::uint16_t port) {
    for (auto deadline = std::chrono::steady_clock::now() + 60s; std::chrono::steady_clock::now() < deadline;) {
      if (http_get(port, "/index.html") == "hello\n") return true;
      std::this_thread::sleep_for(200ms);
    }
    return false;
  }
  // Nothing of the workspace left: no listener, no passt, no TAP or nft table, no sockets.
  void expect_nothing_left(std::uint16_t port, const json& network) {
    EXPECT_FALSE(tcp_port_open(port)) << "published port still listening";
    if (network.contains("passtDir")) {
      const std::string dir = network["passtDir"];
      EXPECT_TRUE(processes_mentioning(dir).empty()) << "passt still running for " << dir;
      EXPECT_FALSE(std::filesystem::exists(dir)) << dir;
    }
    if (network.contains("tap") && !network["tap"].get<std::string>().empty()) {
      EXPECT_FALSE(host_network_mentions(network["tap"].get<std::string>()));
    }
    EXPECT_TRUE(processes_mentioning((tmp.path / "ws").string()).empty()) << "a process still names the workspace";
  }
  TempDir tmp;
};

TEST_F(NetworkPublishTest, ServesAMebibyteAndAHundredParallelConnectionsByteExact) {
  const std::uint16_t port = free_port();
  auto start = run_cli(tmp.path, {"start", "ws", "--publish", std::to_string(port) + ":8080", "--", "sh", "-c", httpd_workload(8080)});
  ASSERT_EQ(start.exit_code, 0) << start.out << start.err;
  ASSERT_TRUE(wait_for_http(port)) << read_text(tmp.path / "ws" / "serial.log");

  const std::string want = seq_mebibyte();
  const std::string got = http_get(port, "/f");
  ASSERT_EQ(got.size(), want.size());
  EXPECT_TRUE(got == want) << "1 MiB body differs";

  std::vector<std::size_t> sizes(100);
  std::vector<std::thread> clients;
  for (int i = 0; i < 100; ++i) {
    clients.emplace_back([&, i] {
      const std::string body = http_get(port, "/f");
      sizes[i] = body == want ? want.size() : body.size() + 1;  // +1: a body that differs, whatever its size
    });
  }
  for (auto& c : clients) c.join();
  int short_bodies = 0;
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(sizes[i], want.size()) << "connection " << i << " (size+1 of what arrived)";
    if (sizes[i] != want.size()) ++short_bodies;
  }
  if (short_bodies > 0) {
    // What the guest saw: relay errors on its console, kernel complaints, TCP counters.
    auto guest = run_cli(tmp.path, {"connect", "ws", "--send", "dmesg | tail -40; cat /proc/net/netstat /proc/net/sockstat; free"});
    ADD_FAILURE() << "guest view:\n" << guest.out << "\nserial:\n" << read_text(tmp.path / "ws" / "serial.log");
  }

  // runtime.json and `microagent network` report the assignment.
  const json network = runtime()["network"];
  EXPECT_EQ(network["mode"], "user");
  EXPECT_EQ(network["address"], "10.0.2.15");
  auto shown = run_cli(tmp.path, {"--json", "network", "ws"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  auto shown_json = json::parse(shown.out);
  EXPECT_EQ(shown_json["gateway"], "10.0.2.2");
  EXPECT_EQ(shown_json["forwards"][0]["hostPort"], port);

  auto stop = run_cli(tmp.path, {"stop", "ws"});
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  expect_nothing_left(port, network);
}

TEST_F(NetworkPublishTest, KillNineOfQemuLeavesNothingBehind) {
  const std::uint16_t port = free_port();
  auto start = run_cli(tmp.path, {"start", "ws", "--publish", std::to_string(port) + ":8080", "--", "sh", "-c", httpd_workload(8080)});
  ASSERT_EQ(start.exit_code, 0) << start.err;
  ASSERT_TRUE(wait_for_http(port));
  const json rt = runtime();
  ASSERT_EQ(::kill(rt["qemuPid"].get<pid_t>(), SIGKILL), 0);
  // The shim notices the crash, tears down its side and records the end.
  for (auto deadline = std::chrono::steady_clock::now() + 20s; std::chrono::steady_clock::now() < deadline;) {
    if (runtime().value("qemuExited", false)) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(runtime().value("qemuExited", false));
  expect_nothing_left(port, rt["network"]);
}

TEST_F(NetworkPublishTest, ADeadShimIsCleanedUpByTheNextCommand) {
  const std::uint16_t port = free_port();
  auto start = run_cli(tmp.path, {"start", "ws", "--publish", std::to_string(port) + ":8080", "--", "sh", "-c", httpd_workload(8080)});
  ASSERT_EQ(start.exit_code, 0) << start.err;
  const json rt = runtime();
  ASSERT_TRUE(rt["network"].contains("passtPid"));
  ::kill(rt["shimPid"].get<pid_t>(), SIGKILL);
  std::this_thread::sleep_for(300ms);
  auto inspect = run_cli(tmp.path, {"--json", "inspect", "ws"});  // reconciles: QEMU, passt, sockets go
  EXPECT_EQ(json::parse(inspect.out)["state"], "failed");
  expect_nothing_left(port, rt["network"]);
}

TEST_F(NetworkPublishTest, QuarantineSeversListenersAndNetwork) {
  const std::uint16_t port = free_port();
  auto start = run_cli(tmp.path, {"start", "ws", "--publish", std::to_string(port) + ":8080", "--", "sh", "-c", httpd_workload(8080)});
  ASSERT_EQ(start.exit_code, 0) << start.err;
  ASSERT_TRUE(wait_for_http(port));
  const json network = runtime()["network"];
  auto quarantine = run_cli(tmp.path, {"quarantine", "--no-capture", "ws"});
  EXPECT_EQ(quarantine.exit_code, 0) << quarantine.err;
  expect_nothing_left(port, network);
}

TEST_F(NetworkPublishTest, HaltAndDeleteLeaveNothingBehind) {
  const std::uint16_t port = free_port();
  auto start = run_cli(tmp.path, {"start", "ws", "--publish", std::to_string(port) + ":8080", "--", "sh", "-c", httpd_workload(8080)});
  ASSERT_EQ(start.exit_code, 0) << start.err;
  ASSERT_TRUE(wait_for_http(port));
  const json network = runtime()["network"];
  auto halt = run_cli(tmp.path, {"halt", "ws"});
  EXPECT_EQ(halt.exit_code, 0) << halt.err;
  expect_nothing_left(port, network);
  // Started again from halted: the forward comes back; delete after kill leaves nothing.
  auto again = run_cli(tmp.path, {"start", "ws"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  ASSERT_TRUE(wait_for_http(port));
  EXPECT_EQ(run_cli(tmp.path, {"kill", "ws"}).exit_code, 0);
  EXPECT_EQ(run_cli(tmp.path, {"delete", "ws"}).exit_code, 0);
  expect_nothing_left(port, network);
}

TEST_F(NetworkPublishTest, IsolatedGuestHasOnlyLoopback) {
  auto run = run_cli(tmp.path, {"run", "--name", "ws", "--network", "isolated", "--", "sh", "-c", "ls /sys/class/net; ip -o addr show lo"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out.substr(0, run.out.find('\n') + 1), "lo\n") << run.out;  // the only interface
  EXPECT_NE(run.out.find("127.0.0.1/8"), std::string::npos) << "lo is up with its address: " << run.out;
  const json network = read_json(tmp.path / "ws" / "runtime.json")["network"];
  EXPECT_EQ(network["mode"], "isolated");
  EXPECT_EQ(network["tap"], "");
  EXPECT_FALSE(network.contains("passtPid"));
}

TEST_F(NetworkPublishTest, IsolatedWithPublishIsRejectedBeforeAnyRequest) {
  auto run = run_cli(tmp.path, {"run", "--name", "ws", "--network", "isolated", "--publish", "8080:80", "--", "true"});
  EXPECT_EQ(run.exit_code, 125);
  EXPECT_NE(run.err.find("invalid_request"), std::string::npos) << run.err;
  EXPECT_FALSE(std::filesystem::exists(tmp.path / "ws")) << "nothing may be created";
}

TEST_F(NetworkPublishTest, MediationEchoServerAnswersTheGuest) {
  const std::uint16_t target = free_port();
  EchoServer echo(target);
  ASSERT_TRUE(echo.ok());
  auto run = run_cli(tmp.path, {"run", "--name", "ws", "--mediation", "2048=127.0.0.1:" + std::to_string(target), "--", "sh", "-c",
                                "echo ping | nc 127.0.0.1 2048"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "echo:ping\n");
}

TEST_F(NetworkPublishTest, RequiredMediationFailsStartClosedAndOptionalStarts) {
  const std::uint16_t target = free_port();  // nothing listens here
  auto start = run_cli(tmp.path, {"start", "ws", "--mediation", "2048=127.0.0.1:" + std::to_string(target)});
  EXPECT_EQ(start.exit_code, 125);
  EXPECT_NE(start.err.find("host_unavailable"), std::string::npos) << start.err;
  EXPECT_NE(start.err.find("--mediation-optional"), std::string::npos) << "the fix is named: " << start.err;
  EXPECT_FALSE(std::filesystem::exists(tmp.path / "ws" / "runtime.json") &&
               read_json(tmp.path / "ws" / "runtime.json").contains("qemuPid"))
      << "no VM may boot";

  auto optional = run_cli(tmp.path, {"start", "ws", "--mediation", "2048=127.0.0.1:" + std::to_string(target),
                                     "--mediation-optional"});
  ASSERT_EQ(optional.exit_code, 0) << optional.err;
  auto inspect = json::parse(run_cli(tmp.path, {"--json", "inspect", "ws"}).out);
  EXPECT_TRUE(inspect["readiness"]["mediationReady"]["ready"].get<bool>()) << inspect.dump();
}

}  // namespace
}  // namespace microagent::e2e
