// The cross-built microagent.exe under wine, on state dirs this test writes
// (with the Linux RuntimeStore: the files are the same on both hosts):
// `connect --send` answers a structured error for a workspace that is missing,
// not running, or recorded as running on a host without Hyper-V sockets;
// `ps` lists the workspaces through the supervisor's inspect; `logs` prints
// serial.log byte for byte; the shared lifecycle verbs and the name checks
// behave as on Linux. Never a crash.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "protocol/json_codec.hpp"
#include "supervisor/runtime_store.hpp"
#include "wine_runner.hpp"

namespace microagent::windows_hyperv {
namespace {

using nlohmann::json;

using wine::WineAnswer;

class WineCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
#if !defined(MICROAGENT_WINDOWS_CLI) || !defined(MICROAGENT_WINE_PREFIX)
    GTEST_SKIP() << "configured with -DMICROAGENT_WINDOWS=OFF: no Windows executables";
#else
    cli = MICROAGENT_WINDOWS_CLI;
    prefix = MICROAGENT_WINE_PREFIX;
    if (auto missing = wine::wine_missing(cli); !missing.empty()) FAIL() << missing;
    char pattern[] = "/tmp/ma-hyperv-cli-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir = pattern;
    state = dir / "state";
#endif
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir.empty()) std::filesystem::remove_all(dir, ec);
  }

  // microagent.exe --state-dir Z:<state> ARGS...
  WineAnswer run(std::vector<std::string> args, const std::string& input = "") {
    std::vector<std::string> argv{cli, "--state-dir", "Z:" + state.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto answer = wine::run_under_wine(prefix, argv, input);
    EXPECT_TRUE(answer.exited) << "microagent.exe: " << answer.err;
    return answer;
  }

  // A workspace whose latest event is `state` (and runtime.json, when given).
  void record(const std::string& name, protocol::State state_now, const json& runtime = nullptr) {
    supervisor::RuntimeStore store(state, protocol::RuntimeId::parse(name).value());
    ASSERT_TRUE(store.create());
    protocol::Event event;
    event.identity = {"req-test", name, "workload", "windows-hyperv"};
    event.state = state_now;
    event.observed_at = "2026-11-23T17:00:00Z";
    event.detail = "recorded by the test";
    ASSERT_TRUE(store.record(event));
    if (!runtime.is_null()) {
      ASSERT_TRUE(store.write_runtime(runtime));
    }
  }

  static void expect_error(const WineAnswer& answer, const std::string& code) {
    EXPECT_EQ(answer.exit_code, 125) << answer.out << answer.err;
    ASSERT_TRUE(answer.body.is_object()) << "not JSON: " << answer.out << "\nstderr: " << answer.err;
    EXPECT_EQ(answer.body["ok"], false);
    EXPECT_EQ(answer.body["error"]["code"], code) << answer.out;
    EXPECT_FALSE(answer.body["error"]["message"].get<std::string>().empty());
  }

  std::string cli;
  std::filesystem::path prefix, dir, state;
};

TEST_F(WineCliTest, ConnectSendWithoutTheWorkspaceIsNotFound) {
  const auto answer = run({"--json", "connect", "nope", "--send", "true"});
  expect_error(answer, "not_found");
  // For people: the message and the code on stderr, nothing on stdout.
  const auto human = run({"connect", "nope", "--send", "true"});
  EXPECT_EQ(human.exit_code, 125);
  EXPECT_TRUE(human.out.empty()) << human.out;
  EXPECT_NE(human.err.find("no workspace named 'nope' [not_found]"), std::string::npos) << human.err;
}

TEST_F(WineCliTest, ConnectSendToAWorkspaceWithoutAVmIsAConflict) {
  record("idle", protocol::State::prepared);
  const auto answer = run({"--json", "connect", "idle", "--send", "true"});
  expect_error(answer, "conflict");
  EXPECT_NE(answer.body["error"]["message"].get<std::string>().find("start it first"), std::string::npos) << answer.out;
  // A bad name never reaches the file system.
  expect_error(run({"--json", "connect", "..", "--send", "true"}), "invalid_request");
}

// Recorded as running with a RuntimeId: the Win32 AF_HYPERV connector runs and
// wine has no Hyper-V sockets, so the answer is host_unavailable, not a crash.
TEST_F(WineCliTest, ConnectSendWithoutHyperVSocketsFailsClosed) {
  record("busy", protocol::State::running,
         json{{"backend", "windows-hyperv"}, {"computeSystemId", "microagent-busy"}, {"detached", true},
              {"vmRuntimeId", "6f4c1a2e-0000-4000-8000-000000000001"}, {"exited", false}});
  const auto answer = run({"--json", "connect", "busy", "--send", "true"}, "input for the command\n");
  ASSERT_TRUE(answer.body.is_object()) << answer.out << answer.err;
  EXPECT_EQ(answer.exit_code, 125);
  const std::string code = answer.body["error"]["code"];
  EXPECT_TRUE(code == "host_unavailable" || code == "conflict") << answer.out;
  const std::string message = answer.body["error"]["message"];
  EXPECT_NE(message.find("Hyper-V"), std::string::npos) << message;
}

TEST_F(WineCliTest, PsListsWorkspacesThroughInspect) {
  record("beta", protocol::State::prepared);
  record("alpha", protocol::State::prepared);
  std::filesystem::create_directories(state / "Not-A-Name");
  std::ofstream(state / "Not-A-Name" / "event.json") << "{}";
  std::filesystem::create_directories(state / "noevents");
  const auto answer = run({"--json", "ps"});
  EXPECT_EQ(answer.exit_code, 0) << answer.err;
  ASSERT_TRUE(answer.body.is_array()) << answer.out << answer.err;
  ASSERT_EQ(answer.body.size(), 2u) << answer.out;
  EXPECT_EQ(answer.body[0]["identity"]["runtimeID"], "alpha");
  EXPECT_EQ(answer.body[1]["identity"]["runtimeID"], "beta");
  EXPECT_EQ(answer.body[0]["state"], "prepared");
  const auto table = run({"ps"});
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_EQ(table.out.rfind("NAME", 0), 0u) << table.out;
  EXPECT_NE(table.out.find("alpha"), std::string::npos);
  EXPECT_NE(table.out.find("prepared"), std::string::npos);
  EXPECT_EQ(table.out.find("noevents"), std::string::npos);
}

TEST_F(WineCliTest, PsOnAnEmptyStateDirIsAnEmptyList) {
  const auto answer = run({"--json", "ps"});
  EXPECT_EQ(answer.exit_code, 0) << answer.err;
  EXPECT_EQ(answer.body, json::array()) << answer.out;
}

TEST_F(WineCliTest, LogsPrintsTheSerialLogByteForByte) {
  record("chatty", protocol::State::stopped);
  std::string log = "[    0.000000] Linux version 6.1\r\nmicroagent guest init\n";
  log += std::string("\x00\x01\xff binary\n", 11);
  std::ofstream(state / "chatty" / "serial.log", std::ios::binary) << log;
  const auto answer = run({"logs", "chatty"});
  EXPECT_EQ(answer.exit_code, 0) << answer.err;
  EXPECT_EQ(answer.out, log);
  // --follow on a workspace that is not running prints once and returns.
  const auto followed = run({"logs", "-f", "chatty"});
  EXPECT_EQ(followed.exit_code, 0) << followed.err;
  EXPECT_EQ(followed.out, log);
  // No serial.log yet: nothing, successfully.
  record("quiet", protocol::State::prepared);
  const auto quiet = run({"logs", "quiet"});
  EXPECT_EQ(quiet.exit_code, 0);
  EXPECT_TRUE(quiet.out.empty());
  expect_error(run({"--json", "logs", "nope"}), "not_found");
}

// microagent.exe is the shared CLI tree (src/cli): the lifecycle verbs send
// typed requests to the supervisor and print what Linux's microagent prints.
TEST_F(WineCliTest, LifecycleVerbsAreTheSharedOnes) {
  record("alpha", protocol::State::prepared);
  const auto inspected = run({"--json", "inspect", "alpha"});
  EXPECT_EQ(inspected.exit_code, 0) << inspected.out << inspected.err;
  EXPECT_EQ(inspected.body["state"], "prepared") << inspected.out;
  EXPECT_EQ(inspected.body["identity"]["runtimeID"], "alpha") << inspected.out;
  const auto human = run({"inspect", "alpha"});
  EXPECT_EQ(human.out.rfind("alpha  prepared", 0), 0u) << human.out;

  const auto halted = run({"--json", "halt", "--grace", "5", "alpha"});
  expect_error(halted, "conflict");
  EXPECT_NE(halted.body["error"]["message"].get<std::string>().find("never started"), std::string::npos) << halted.out;
  expect_error(run({"--json", "halt", "--grace", "601", "alpha"}), "invalid_request");

  const auto removed = run({"--json", "rm", "alpha"});
  EXPECT_EQ(removed.exit_code, 0) << removed.out << removed.err;
  EXPECT_FALSE(std::filesystem::exists(state / "alpha"));
  expect_error(run({"--json", "inspect", "alpha"}), "not_found");
}

// A hostile name is refused while the command line is parsed: nothing beside
// the state dir is read or written.
TEST_F(WineCliTest, HostileNamesNeverLeaveTheStateDir) {
  std::filesystem::create_directories(state);
  std::ofstream(dir / "x") << "canary";
  std::filesystem::create_directories(dir / "x-dir");
  std::ofstream(dir / "x-dir" / "event.json") << "{}";
  const std::string long_name(300, 'a');
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"logs", "../x"}, {"inspect", "../x-dir"}, {"rm", "../x-dir"}, {"start", "a/b"},
        {"inspect", long_name}, {"connect", "..", "--send", "true"}, {"run", "--name", "../x", "--", "true"}}) {
    SCOPED_TRACE(args[0] + " " + args[1]);
    std::vector<std::string> with_json{"--json"};
    with_json.insert(with_json.end(), args.begin(), args.end());
    expect_error(run(with_json), "invalid_request");
  }
  std::ifstream canary(dir / "x");
  std::string text;
  std::getline(canary, text);
  EXPECT_EQ(text, "canary");
  EXPECT_TRUE(std::filesystem::exists(dir / "x-dir" / "event.json"));
  EXPECT_TRUE(std::filesystem::is_empty(state));
}

}  // namespace
}  // namespace microagent::windows_hyperv
