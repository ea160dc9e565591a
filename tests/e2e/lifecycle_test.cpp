// The detached lifecycle end to end through the CLI: start, connect, halt and
// start again with the disk kept, kill -9 of QEMU, quarantine, delete.
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "e2e_support.hpp"

namespace microagent::e2e {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// Alive and not a zombie (an exited shim may wait for a reaper that never comes).
bool process_running(pid_t pid) {
  const std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  const auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

class LifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(kernel_available()) << "run `build/bin/microagent kernel fetch`"; }
  void TearDown() override {
    run_cli(tmp.path, {"kill", "ws"});
    run_cli(tmp.path, {"delete", "ws"});
  }

  json inspect() {
    auto run = run_cli(tmp.path, {"--json", "inspect", "ws"});
    return json::parse(run.out, nullptr, false);
  }

  // Waits until guest init says a shell can be served.
  bool wait_shell_ready(std::chrono::seconds timeout = 60s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto event = inspect();
      if (event.is_object() && event.contains("readiness") && event["readiness"]["shellReady"]["ready"] == true) return true;
      std::this_thread::sleep_for(200ms);
    }
    return false;
  }

  json runtime() { return read_json(tmp.path / "ws" / "runtime.json"); }

  TempDir tmp;
};

TEST_F(LifecycleTest, StartConnectHaltStartKeepsTheDisk) {
  auto start = run_cli(tmp.path, {"start", "ws"});
  ASSERT_EQ(start.exit_code, 0) << start.err;
  EXPECT_NE(start.out.find("running"), std::string::npos);
  ASSERT_TRUE(wait_shell_ready());
  auto event = inspect();
  EXPECT_EQ(event["readiness"]["guestReady"]["ready"], true);
  EXPECT_EQ(event["readiness"]["resultReady"]["ready"], false);

  auto send = run_cli(tmp.path, {"connect", "ws", "--send", "echo hi; exit 7"});
  EXPECT_EQ(send.out, "hi\n");
  EXPECT_EQ(send.exit_code, 7) << send.err;

  auto write = run_cli(tmp.path, {"connect", "ws", "--send", "echo kept > /workspace/file && sync"});
  ASSERT_EQ(write.exit_code, 0) << write.err;
  auto halt = run_cli(tmp.path, {"halt", "ws"});
  ASSERT_EQ(halt.exit_code, 0) << halt.err;
  EXPECT_EQ(inspect()["state"], "halted");
  EXPECT_NE(inspect()["detail"].get<std::string>().find("cleanly"), std::string::npos);

  ASSERT_EQ(run_cli(tmp.path, {"start", "ws"}).exit_code, 0);
  ASSERT_TRUE(wait_shell_ready());
  auto read = run_cli(tmp.path, {"connect", "ws", "--send", "cat /workspace/file"});
  EXPECT_EQ(read.out, "kept\n") << read.err;

  auto deleted_while_running = run_cli(tmp.path, {"delete", "ws"});
  EXPECT_EQ(deleted_while_running.exit_code, 125);
  EXPECT_NE(deleted_while_running.err.find("conflict"), std::string::npos);

  ASSERT_EQ(run_cli(tmp.path, {"stop", "ws"}).exit_code, 0);
  EXPECT_EQ(inspect()["state"], "stopped");

  // Every event in order; event.json is the last of them.
  auto events = read_json_lines(tmp.path / "ws" / "events.json");
  std::vector<std::string> states;
  for (const auto& e : events) states.push_back(e["state"]);
  EXPECT_EQ(states, (std::vector<std::string>{"prepared", "starting", "running", "stopping", "halted", "starting",
                                              "running", "stopping", "stopped"}));
  EXPECT_EQ(read_json(tmp.path / "ws" / "event.json"), events.back());
}

TEST_F(LifecycleTest, InspectDuringStartDoesNotDisturbIt) {
  // A previous run leaves a runtime.json whose processes are long gone.
  ASSERT_EQ(run_cli(tmp.path, {"start", "ws"}).exit_code, 0);
  ASSERT_EQ(run_cli(tmp.path, {"kill", "ws"}).exit_code, 0);
  SpawnOptions quiet;
  quiet.stdout_fd = quiet.stderr_fd = -1;
  auto start = spawn_process({(bin_dir() / "microagent").string(), "--state-dir", tmp.path.string(), "start", "ws"}, quiet);
  ASSERT_TRUE(start);
  while (!start->wait(std::chrono::milliseconds(0))) inspect();
  EXPECT_EQ(start->wait()->exit_code, 0);
  auto events = read_json_lines(tmp.path / "ws" / "events.json");
  std::vector<std::string> states;
  for (const auto& e : events) states.push_back(e["state"]);
  EXPECT_EQ(states, (std::vector<std::string>{"prepared", "starting", "running", "stopped", "starting", "running"}));
}

TEST_F(LifecycleTest, InteractiveSessionThroughARealTerminal) {
  ASSERT_EQ(run_cli(tmp.path, {"start", "ws"}).exit_code, 0);
  ASSERT_TRUE(wait_shell_ready());
  int master = -1;
  winsize size{30, 100, 0, 0};
  pid_t pid = ::forkpty(&master, nullptr, nullptr, &size);
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string cli = (bin_dir() / "microagent").string();
    const std::string state = tmp.path.string();
    ::execl(cli.c_str(), cli.c_str(), "--state-dir", state.c_str(), "connect", "ws", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::string screen;
  auto read_until = [&](const std::string& needle, std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (screen.find(needle) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd p{master, POLLIN, 0};
      if (::poll(&p, 1, 200) > 0) {
        char buf[4096];
        ssize_t n = ::read(master, buf, sizeof buf);
        if (n <= 0) break;
        screen.append(buf, static_cast<size_t>(n));
      }
    }
    return screen.find(needle) != std::string::npos;
  };
  const std::string command = "echo $((6*7))-answer; stty size\r";
  ASSERT_EQ(::write(master, command.data(), command.size()), static_cast<ssize_t>(command.size()));
  EXPECT_TRUE(read_until("42-answer", 20s)) << screen;
  EXPECT_TRUE(read_until("30 100", 10s)) << screen;
  ASSERT_EQ(::write(master, "exit 3\r", 7), 7);
  int status = 0;
  for (int i = 0; i < 100 && ::waitpid(pid, &status, WNOHANG) == 0; ++i) {
    read_until("\x01never", 0s);
    std::this_thread::sleep_for(100ms);
  }
  ::close(master);
  ASSERT_TRUE(WIFEXITED(status)) << screen;
  EXPECT_EQ(WEXITSTATUS(status), 3);
}

TEST_F(LifecycleTest, ConsoleInputReachesTheSerialShell) {
  ASSERT_EQ(run_cli(tmp.path, {"start", "ws"}).exit_code, 0);
  ASSERT_TRUE(wait_shell_ready());
  auto console = run_cli(tmp.path, {"console", "ws", "echo console-$((6*7))-$(id -u)"});
  ASSERT_EQ(console.exit_code, 0) << console.err;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  std::string serial;
  while (std::chrono::steady_clock::now() < deadline) {
    serial = read_text(tmp.path / "ws" / "serial.log");
    if (serial.find("console-42-0") != std::string::npos) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_NE(serial.find("console-42-0"), std::string::npos) << serial;
  auto logs = run_cli(tmp.path, {"logs", "ws"});
  EXPECT_NE(logs.out.find("console-42-0"), std::string::npos);
}

TEST_F(LifecycleTest, KillNineOfQemuIsRecordedAndDeleteLeavesNothing) {
  ASSERT_EQ(run_cli(tmp.path, {"start", "ws"}).exit_code, 0);
  const auto rt = runtime();
  const pid_t qemu = rt["qemuPid"].get<pid_t>();
  const pid_t shim = rt["shimPid"].get<pid_t>();
  const std::filesystem::path vsock = rt["sockets"]["vsock"].get<std::string>();
  ASSERT_EQ(::kill(qemu, SIGKILL), 0);
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  json event;
  while (std::chrono::steady_clock::now() < deadline) {
    event = inspect();
    if (event["state"] == "failed" || event["state"] == "stopped") break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(event["state"] == "failed" || event["state"] == "stopped") << event.dump();
  EXPECT_NE(event["detail"].get<std::string>().find("signal 9"), std::string::npos) << event.dump();

  ASSERT_EQ(run_cli(tmp.path, {"delete", "ws"}).exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(tmp.path / "ws"));
  EXPECT_FALSE(std::filesystem::exists(tmp.path / "workspaces" / "ws"));
  EXPECT_FALSE(std::filesystem::exists(vsock));
  EXPECT_FALSE(process_running(shim));
  EXPECT_FALSE(process_running(qemu));
}

TEST_F(LifecycleTest, QuarantineSeversEndpointsKeepsEvidenceAndBlocksStart) {
  ASSERT_EQ(run_cli(tmp.path, {"start", "ws"}).exit_code, 0);
  ASSERT_TRUE(wait_shell_ready());
  const auto rt = runtime();
  std::vector<std::filesystem::path> endpoints;
  for (const auto& [key, path] : rt["sockets"].items()) endpoints.push_back(path.get<std::string>());
  endpoints.push_back(rt["sockets"]["vsock"].get<std::string>() + "_1024");
  for (const auto& e : endpoints) ASSERT_TRUE(std::filesystem::exists(e)) << e;
  // The control channel took its one connection of this boot (guest init's readiness): its listener is gone.
  EXPECT_FALSE(std::filesystem::exists(rt["sockets"]["vsock"].get<std::string>() + "_1026"));

  auto quarantine = run_cli(tmp.path, {"quarantine", "--no-capture", "ws"});
  ASSERT_EQ(quarantine.exit_code, 0) << quarantine.err;
  EXPECT_EQ(inspect()["state"], "quarantined");
  for (const auto& e : endpoints) EXPECT_FALSE(std::filesystem::exists(e)) << e << " survived quarantine";
  EXPECT_TRUE(std::filesystem::exists(tmp.path / "ws" / "serial.log"));
  EXPECT_GT(std::filesystem::file_size(tmp.path / "ws" / "serial.log"), 0u);
  EXPECT_TRUE(std::filesystem::exists(tmp.path / "ws" / "events.json"));

  auto refused = run_cli(tmp.path, {"start", "ws"});
  EXPECT_EQ(refused.exit_code, 125);
  EXPECT_NE(refused.err.find("quarantined"), std::string::npos) << refused.err;
  ASSERT_EQ(run_cli(tmp.path, {"stop", "ws"}).exit_code, 0);
  EXPECT_EQ(run_cli(tmp.path, {"start", "ws"}).exit_code, 0);
}

TEST_F(LifecycleTest, QuarantineCapturesEvidenceByDefault) {
  ASSERT_EQ(run_cli(tmp.path, {"start", "ws"}).exit_code, 0);
  ASSERT_TRUE(wait_shell_ready());
  auto quarantine = run_cli(tmp.path, {"quarantine", "ws"});
  ASSERT_EQ(quarantine.exit_code, 0) << quarantine.err;
  const auto evidence = tmp.path / "ws" / "evidence" / "vm-state.bin";
  ASSERT_TRUE(std::filesystem::exists(evidence));
  EXPECT_GT(std::filesystem::file_size(evidence), 1u << 20);
  EXPECT_NE(inspect()["detail"].get<std::string>().find("evidence"), std::string::npos);
}

}  // namespace
}  // namespace microagent::e2e
