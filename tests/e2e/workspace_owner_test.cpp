// Who owns a VM, and what happens when the owner dies (issue 13): a foreground
// run's supervisor owns its VM for the whole run, so ps and inspect leave it
// alone; a CLI or supervisor killed with SIGKILL takes QEMU and passt with it;
// a started workspace whose shim died is reaped by the next command.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <thread>

#include "e2e_support.hpp"

namespace microagent::e2e {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

// Alive and not a zombie (a process whose parent died waits for a reaper that may never come).
bool process_running(pid_t pid) {
  if (pid <= 0) return false;
  const std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  const auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

// Every running process whose command line mentions `needle`.
std::vector<pid_t> processes_mentioning(const std::string& needle) {
  std::vector<pid_t> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = std::stoi(name);
    if (pid == ::getpid()) continue;
    std::string cmdline = read_text(entry.path() / "cmdline");
    for (char& c : cmdline) c = c == '\0' ? ' ' : c;
    if (cmdline.find(needle) != std::string::npos && process_running(pid)) found.push_back(pid);
  }
  return found;
}

pid_t parent_of(pid_t pid) {
  const std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  const auto close = stat.rfind(')');
  if (close == std::string::npos || close + 4 >= stat.size()) return 0;
  return std::atoi(stat.c_str() + close + 4);  // ") S 1234 ..."
}

// How long a VM's processes get to go by themselves once their owner is
// SIGKILLed (QEMU by its parent-death signal, passt --one-off when QEMU's
// socket closes). Alone that takes ~0.3 s; a fresh-clone CI run, with other
// TCG guests busy on both cores, once saw passt still there after 2 s.
constexpr auto kSelfTeardown = std::chrono::seconds(5);

pid_t recorded(const json& runtime, const char* key) {
  return runtime.is_object() && runtime.contains(key) && runtime[key].is_number_integer() ? runtime[key].get<pid_t>() : 0;
}

class WorkspaceOwnerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(kernel_available()) << "run `build/bin/microagent kernel fetch`"; }
  void TearDown() override {
    if (cli) {
      cli->signal(SIGKILL);
      cli->wait();
    }
    run_cli(tmp.path, {"kill", "ws"});
  }

  // `microagent run --name ws -- ARGS...` in the background.
  void start_run(const std::vector<std::string>& command) {
    std::vector<std::string> argv{(bin_dir() / "microagent").string(), "--state-dir", tmp.path.string(), "run", "--name", "ws", "--"};
    argv.insert(argv.end(), command.begin(), command.end());
    SpawnOptions quiet;
    quiet.stdout_fd = quiet.stderr_fd = -1;
    auto child = spawn_process(argv, quiet);
    ASSERT_TRUE(child) << child.error().message;
    cli = std::move(*child);
  }

  json runtime() { return read_json(tmp.path / "ws" / "runtime.json"); }
  json latest() { return read_json(tmp.path / "ws" / "event.json"); }

  // Waits until the run's VM is up: runtime.json names QEMU and the event says running.
  bool wait_running(std::chrono::seconds timeout = 60s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto event = latest();
      if (event.is_object() && event.value("state", "") == "running" && recorded(runtime(), "qemuPid") > 0) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

  // True when none of the run's processes is left within `timeout`: the
  // recorded supervisor, QEMU and passt, and anything naming the state dir
  // (QEMU) or passt's directory on its command line.
  ::testing::AssertionResult all_gone(const json& rt, std::chrono::milliseconds timeout) {
    std::vector<pid_t> pids{recorded(rt, "supervisorPid"), recorded(rt, "shimPid"), recorded(rt, "qemuPid")};
    std::string passt_dir;
    if (rt.contains("network") && rt["network"].is_object()) {
      pids.push_back(recorded(rt["network"], "passtPid"));
      passt_dir = rt["network"].value("passtDir", "");
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string left;
    do {
      left.clear();
      for (pid_t pid : pids) {
        if (process_running(pid)) left += " pid " + std::to_string(pid) + " (" + read_text(fmt_proc(pid, "comm")) + ")";
      }
      for (pid_t pid : processes_mentioning(tmp.path.string())) left += " pid " + std::to_string(pid) + " (state dir)";
      if (!passt_dir.empty()) {
        for (pid_t pid : processes_mentioning(passt_dir)) left += " pid " + std::to_string(pid) + " (passt dir)";
      }
      if (left.empty()) return ::testing::AssertionSuccess();
      std::this_thread::sleep_for(50ms);
    } while (std::chrono::steady_clock::now() < deadline);
    return ::testing::AssertionFailure() << "still running:" << left;
  }

  static fs::path fmt_proc(pid_t pid, const char* file) { return fs::path("/proc") / std::to_string(pid) / file; }

  TempDir tmp;
  std::optional<ChildProcess> cli;
};

TEST_F(WorkspaceOwnerTest, PsAndInspectDuringAForegroundRunLeaveItAlone) {
  start_run({"sh", "-c", "sleep 6; echo done; exit 5"});
  ASSERT_TRUE(wait_running());
  const pid_t qemu = recorded(runtime(), "qemuPid");
  EXPECT_EQ(runtime().value("foreground", false), true);
  // Read-only commands, several times, while the workload sleeps.
  for (int i = 0; i < 3; ++i) {
    auto ps = run_cli(tmp.path, {"--json", "ps"});
    ASSERT_EQ(ps.exit_code, 0) << ps.err;
    auto rows = json::parse(ps.out, nullptr, false);
    ASSERT_TRUE(rows.is_array() && rows.size() == 1) << ps.out;
    EXPECT_EQ(rows[0]["state"], "running") << ps.out;
    auto inspect = run_cli(tmp.path, {"--json", "inspect", "ws"});
    ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
    EXPECT_EQ(json::parse(inspect.out, nullptr, false)["state"], "running") << inspect.out;
    EXPECT_TRUE(process_running(qemu)) << "a read-only command killed the run's QEMU";
    std::this_thread::sleep_for(300ms);
  }
  auto status = cli->wait(120s);
  ASSERT_TRUE(status) << "run did not finish";
  EXPECT_EQ(status->exit_code, 5);
  cli.reset();
  EXPECT_EQ(latest()["state"], "stopped") << latest().dump();
  for (const auto& e : read_json_lines(tmp.path / "ws" / "events.json")) EXPECT_NE(e["state"], "failed") << e.dump();
}

TEST_F(WorkspaceOwnerTest, SigkillOfTheRunCliTakesSupervisorQemuAndPasstWithIt) {
  start_run({"sleep", "30"});
  ASSERT_TRUE(wait_running());
  const json rt = runtime();
  ASSERT_TRUE(process_running(recorded(rt, "supervisorPid")));
  ASSERT_TRUE(process_running(recorded(rt, "qemuPid")));
  ASSERT_FALSE(processes_mentioning(tmp.path.string()).empty()) << "QEMU's command line should name the state dir";
  cli->signal(SIGKILL);
  cli->wait();
  cli.reset();
  EXPECT_TRUE(all_gone(rt, kSelfTeardown));
  // The supervisor recorded the end itself: nothing is left running.
  auto ps = run_cli(tmp.path, {"--json", "ps"});
  auto rows = json::parse(ps.out, nullptr, false);
  ASSERT_TRUE(rows.is_array() && rows.size() == 1) << ps.out;
  EXPECT_NE(rows[0]["state"], "running") << ps.out;
}

TEST_F(WorkspaceOwnerTest, SigkillOfTheRunSupervisorIsReapedAndNamedByTheNextCommand) {
  start_run({"sleep", "30"});
  ASSERT_TRUE(wait_running());
  const json rt = runtime();
  const pid_t supervisor = recorded(rt, "supervisorPid");
  ASSERT_TRUE(process_running(supervisor));
  ASSERT_EQ(::kill(supervisor, SIGKILL), 0);
  // QEMU dies with it (parent-death signal), passt with QEMU (--one-off).
  EXPECT_TRUE(all_gone(rt, kSelfTeardown));
  auto status = cli->wait(10s);
  ASSERT_TRUE(status);
  EXPECT_NE(status->exit_code, 0);
  cli.reset();
  auto inspect = run_cli(tmp.path, {"--json", "inspect", "ws"});
  auto event = json::parse(inspect.out, nullptr, false);
  ASSERT_TRUE(event.is_object()) << inspect.out << inspect.err;
  EXPECT_EQ(event["state"], "failed");
  EXPECT_NE(event["detail"].get<std::string>().find("supervisor (pid " + std::to_string(supervisor) + ")"),
            std::string::npos)
      << event["detail"];
  // The passt directory went with the reap.
  if (rt.contains("network") && rt["network"].contains("passtDir")) {
    EXPECT_FALSE(fs::exists(rt["network"]["passtDir"].get<std::string>()));
  }
}

TEST_F(WorkspaceOwnerTest, KillNineOfTheShimIsReapedByTheNextInspect) {
  auto start = run_cli(tmp.path, {"start", "ws"});
  ASSERT_EQ(start.exit_code, 0) << start.err;
  const json rt = runtime();
  const pid_t shim = recorded(rt, "shimPid");
  const pid_t qemu = recorded(rt, "qemuPid");
  ASSERT_TRUE(process_running(shim));
  ASSERT_TRUE(process_running(qemu));
  // A started workspace's VM must outlive the CLI that started it: its parent is the shim.
  EXPECT_EQ(parent_of(qemu), shim) << read_text(fmt_proc(qemu, "stat"));
  ASSERT_EQ(::kill(shim, SIGKILL), 0);
  // The shim is the VM's watchdog: QEMU dies with it, passt with QEMU.
  EXPECT_TRUE(all_gone(rt, kSelfTeardown));
  // The next command notices, cleans up what is left and says who died.
  auto inspect = run_cli(tmp.path, {"--json", "inspect", "ws"});
  auto event = json::parse(inspect.out, nullptr, false);
  ASSERT_TRUE(event.is_object()) << inspect.out << inspect.err;
  EXPECT_EQ(event["state"], "failed");
  EXPECT_NE(event["detail"].get<std::string>().find("runtime shim (pid " + std::to_string(shim) + ")"), std::string::npos)
      << event["detail"];
  auto removed = run_cli(tmp.path, {"rm", "ws"});
  EXPECT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_FALSE(fs::exists(tmp.path / "ws"));
}

}  // namespace
}  // namespace microagent::e2e
