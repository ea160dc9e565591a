// The cross-built microagent-windows-hyperv-supervisor.exe under Debian's
// wine (no Hyper-V there: LoadLibrary("computecore.dll") fails with 126):
// every request gets one valid JSON response, ok:false with a stable code and
// a reason, a non-zero exit code, and never a crash. Wine's prefix lives in
// the build dir; a lock serialises the runs (the first one creates it, ~8 s).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "common/process.hpp"
#include "wine_runner.hpp"

namespace microagent::windows_hyperv {
namespace {

using nlohmann::json;

using wine::WineAnswer;

class WineSupervisorTest : public ::testing::Test {
 protected:
  void SetUp() override {
#ifndef MICROAGENT_WINDOWS_SUPERVISOR
    GTEST_SKIP() << "configured with -DMICROAGENT_WINDOWS=OFF: no Windows executables";
#else
    exe = MICROAGENT_WINDOWS_SUPERVISOR;
    prefix = MICROAGENT_WINE_PREFIX;
    if (auto missing = wine::wine_missing(exe); !missing.empty()) FAIL() << missing;
#endif
  }

  WineAnswer ask(const std::string& request) { return run_exe({exe}, request); }

  // One run; the supervisor's answer is always exactly one JSON document.
  WineAnswer run_exe(const std::vector<std::string>& args, const std::string& input) {
    auto answer = wine::run_under_wine(prefix, args, input);
    EXPECT_TRUE(answer.exited) << "the .exe: " << answer.err;
    EXPECT_FALSE(answer.body.is_discarded()) << "not one JSON document: " << answer.out << "\nstderr: " << answer.err;
    return answer;
  }

  static void expect_fail_closed(const WineAnswer& answer, const std::string& code) {
    EXPECT_NE(answer.exit_code, 0);
    ASSERT_TRUE(answer.body.is_object()) << answer.out;
    EXPECT_EQ(answer.body["ok"], false);
    EXPECT_EQ(answer.body["backend"], "windows-hyperv");
    EXPECT_EQ(answer.body["error"]["code"], code) << answer.out;
    EXPECT_FALSE(answer.body["error"]["message"].get<std::string>().empty());
  }

  static std::string workspace_request(const std::string& command) {
    return json{{"command", command},
                {"identity", {{"requestID", "r1"}, {"runtimeID", "wine1"}, {"role", "workload"}, {"backend", "windows-hyperv"}}},
                {"config",
                 {{"stateDir", R"(C:\microagent\state)"},
                  {"kernelPath", R"(C:\microagent\kernels\vmlinux)"},
                  {"initrdPath", R"(C:\microagent\kernels\initrd.img)"},
                  {"command", {"/bin/true"}},
                  {"network", {{"mode", "isolated"}}}}}}
        .dump();
  }

  std::string exe;
  std::filesystem::path prefix;
};

TEST_F(WineSupervisorTest, HostSaysHcsIsUnavailable) {
  const auto answer = ask(R"({"command":"host"})");
  expect_fail_closed(answer, "host_unavailable");
  const std::string message = answer.body["error"]["message"];
  EXPECT_NE(message.find("computecore.dll"), std::string::npos) << message;
  EXPECT_NE(message.find("Fix:"), std::string::npos) << message;
}

TEST_F(WineSupervisorTest, DoctorRequestWithAWindowsStateDir) {
  expect_fail_closed(ask(R"({"command":"host","stateDir":"C:\\microagent\\state"})"), "host_unavailable");
}

TEST_F(WineSupervisorTest, CheckSaysHcsIsUnavailable) {
  const auto answer = ask(workspace_request("check"));
  expect_fail_closed(answer, "host_unavailable");
  EXPECT_NE(answer.body["error"]["message"].get<std::string>().find("computecore.dll"), std::string::npos);
}

TEST_F(WineSupervisorTest, RunAndStartFailClosed) {
  expect_fail_closed(ask(workspace_request("run")), "host_unavailable");
  expect_fail_closed(ask(workspace_request("start")), "host_unavailable");
}

TEST_F(WineSupervisorTest, ConsoleIsUnsupported) { expect_fail_closed(ask(workspace_request("console")), "unsupported"); }

TEST_F(WineSupervisorTest, BadInputIsAStructuredError) {
  expect_fail_closed(ask("not json at all"), "invalid_request");
  expect_fail_closed(ask(R"({"command":"launch-missiles"})"), "unsupported");
  expect_fail_closed(ask(""), "invalid_request");
}

// prepare needs no HCS: under wine it exercises the Win32 ports of the state
// files, the lock and the VHD writer; QEMU then reads the VHD it wrote.
TEST_F(WineSupervisorTest, PrepareWritesStateAndAVhdQemuReads) {
  char pattern[] = "/tmp/ma-hyperv-wine-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  const std::filesystem::path dir = pattern;
  {
    std::ofstream root(dir / "root.img", std::ios::binary);
    for (int i = 0; i < 3000; ++i) root << "block " << i << "\n";
  }
  json request = json::parse(workspace_request("prepare"));
  request["config"]["stateDir"] = "Z:" + (dir / "state").string();
  request["config"]["rootfsPath"] = "Z:" + (dir / "root.img").string();
  const auto answer = ask(request.dump());
  EXPECT_EQ(answer.exit_code, 0) << answer.out << answer.err;
  EXPECT_EQ(answer.body["event"]["state"], "prepared") << answer.out;
  const auto vhd = dir / "state" / "workspaces" / "wine1" / "rootfs.vhd";
  ASSERT_TRUE(std::filesystem::exists(vhd));
  EXPECT_TRUE(std::filesystem::exists(dir / "state" / "wine1" / "events.json"));
  auto compare = run_command({"qemu-img", "compare", "-f", "vpc", "-F", "raw", vhd.string(), (dir / "root.img").string()});
  ASSERT_TRUE(compare);
  EXPECT_TRUE(compare->status.success()) << compare->out << compare->err;
  request["command"] = "inspect";
  EXPECT_EQ(ask(request.dump()).body["event"]["state"], "prepared");
  request["command"] = "delete";
  EXPECT_EQ(ask(request.dump()).exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(dir / "state" / "wine1"));
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

// The detached listener helper (the same .exe, `listener-helper <dir>`):
// without its spec it fails, with one it exits once the VM is gone (there is
// no HCS under wine, so at once) after logging what it did.
TEST_F(WineSupervisorTest, ListenerHelperLogsAndExitsWhenTheVmIsGone) {
  char pattern[] = "/tmp/ma-hyperv-helper-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  const std::filesystem::path dir = pattern;
  const auto missing = wine::run_under_wine(prefix, {exe, "listener-helper", "Z:" + dir.string()});
  EXPECT_EQ(missing.exit_code, 1) << missing.err;
  std::ofstream(dir / "listener.json") << json{{"computeSystemId", "microagent-x"}, {"vmRuntimeId", ""},
                                               {"com1Pipe", R"(\\.\pipe\microagent-x-com1)"}, {"resultPort", 1024},
                                               {"forwards", json::array()}}.dump();
  const auto done = wine::run_under_wine(prefix, {exe, "listener-helper", "Z:" + dir.string()});
  EXPECT_EQ(done.exit_code, 0) << done.err;
  std::ifstream in(dir / "hvsock-listener.log");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("listener.json is missing"), std::string::npos) << text;
  EXPECT_NE(text.find("is gone; listener helper exits"), std::string::npos) << text;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

#ifdef MICROAGENT_WINDOWS_CLI
// microagent.exe runs the supervisor as an executable and turns its ok:false
// into exit code 125 with the message.
TEST_F(WineSupervisorTest, CliDoctorAndRunFailClosed) {
  const std::string cli = MICROAGENT_WINDOWS_CLI;
  ASSERT_TRUE(std::filesystem::exists(cli)) << cli;
  auto doctor = run_exe({cli, "--json", "doctor"}, "");
  EXPECT_EQ(doctor.exit_code, 125);
  EXPECT_EQ(doctor.body["error"]["code"], "host_unavailable") << doctor.out;
  auto run = run_exe({cli, "--json", "run", "--", "/bin/true"}, "");
  EXPECT_EQ(run.exit_code, 125);
  EXPECT_EQ(run.body["error"]["code"], "host_unavailable") << run.out;
}
#endif

}  // namespace
}  // namespace microagent::windows_hyperv
