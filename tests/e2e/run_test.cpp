// `microagent run` end to end: real QEMU, the real Debian cloud kernel, guest
// init as PID 1, the result delivered over vsock.
#include <gtest/gtest.h>

#include <regex>

#include <fmt/core.h>

#include "common/base64.hpp"
#include "common/paths.hpp"
#include "common/sha256.hpp"
#include "e2e_support.hpp"
#include "image/kernel_artifact.hpp"

namespace microagent::e2e {
namespace {

class RunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(kernel_available()) << "no guest kernel cached: run `build/bin/microagent kernel fetch`";
  }
  std::filesystem::path runtime(const std::string& name) const { return tmp.path / name; }
  TempDir tmp;
};

TEST_F(RunTest, PrintsTheGuestKernelReleaseNotTheHosts) {
  auto run = run_cli(tmp.path, {"run", "--name", "uname", "--", "uname", "-r"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto artifact = image::load_kernel_artifact(default_kernel_cache());
  ASSERT_TRUE(artifact);
  EXPECT_EQ(run.out, artifact->release + "\n");
  EXPECT_NE(run.out.find("cloud-amd64"), std::string::npos);
}

TEST_F(RunTest, SeparatesStreamsAndPassesTheExitCode) {
  auto run = run_cli(tmp.path, {"run", "--name", "streams", "--", "sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_EQ(run.out, "out\n");
  EXPECT_EQ(run.err, "err\n");
  auto result = read_json(runtime("streams") / "result.json");
  EXPECT_EQ(result["exitCode"], 3);
}

TEST_F(RunTest, BinaryOutputRoundTripsByteForByte) {
  // The guest writes 64 KiB of random bytes and their SHA-256 (on stderr).
  auto run = run_cli(tmp.path, {"run", "--name", "binary", "--", "sh", "-c",
                                "head -c 65536 /dev/urandom > /tmp/d; cat /tmp/d; sha256sum /tmp/d | cut -d' ' -f1 >&2"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  ASSERT_EQ(run.out.size(), 65536u);
  EXPECT_EQ(sha256_hex(run.out) + "\n", run.err);
}

TEST_F(RunTest, OutputOverTheBoundIsCutAndFlagged) {
  auto run = run_cli(tmp.path, {"run", "--name", "bound", "--output-limit", "1000", "--", "sh", "-c",
                                "head -c 5000 /dev/zero; echo small >&2"});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.out.size(), 1000u);
  EXPECT_NE(run.err.find("small"), std::string::npos);
  EXPECT_NE(run.err.find("truncated"), std::string::npos);
  auto result = read_json(runtime("bound") / "result.json");
  EXPECT_EQ(result["stdoutTruncated"], true);
  EXPECT_EQ(result["stdoutBytes"], 5000);
  EXPECT_EQ(result["stderrTruncated"], false);
}

TEST_F(RunTest, MissingCommandYieldsAStructuredErrorQuickly) {
  auto run = run_cli(tmp.path, {"run", "--name", "missing", "--", "no-such-command-xyz"});
  EXPECT_EQ(run.exit_code, 127);
  EXPECT_NE(run.err.find("no-such-command-xyz"), std::string::npos) << run.err;
  EXPECT_LT(run.seconds, 30.0);
  auto result = read_json(runtime("missing") / "result.json");
  EXPECT_FALSE(result["error"].get<std::string>().empty());
}

TEST_F(RunTest, RecordsEventsInOrderAndTheRuntime) {
  auto run = run_cli(tmp.path, {"run", "--name", "events", "--", "true"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto events = read_json_lines(runtime("events") / "events.json");
  std::vector<std::string> states;
  const std::regex rfc3339(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))");
  for (const auto& e : events) {
    states.push_back(e["state"]);
    EXPECT_TRUE(std::regex_match(e["observedAt"].get<std::string>(), rfc3339)) << e.dump();
  }
  EXPECT_EQ(states, (std::vector<std::string>{"prepared", "starting", "running", "stopped"}));
  EXPECT_EQ(read_json(runtime("events") / "event.json")["state"], "stopped");
  auto runtime_json = read_json(runtime("events") / "runtime.json");
  EXPECT_GT(runtime_json["qemuPid"].get<int>(), 0);
  EXPECT_TRUE(runtime_json["accel"] == "tcg" || runtime_json["accel"] == "kvm");
  EXPECT_FALSE(runtime_json["accelReason"].get<std::string>().empty());
}

TEST_F(RunTest, ResultTravelsOverVsockNotTheSerialLog) {
  // The marker is built in the guest so it never appears on the kernel command line.
  auto run = run_cli(tmp.path, {"run", "--name", "vsock", "--", "sh", "-c", "echo vsock-$((6*7))-marker"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "vsock-42-marker\n");
  const std::string serial = read_text(runtime("vsock") / "serial.log");
  EXPECT_EQ(serial.find("vsock-42-marker"), std::string::npos) << "the output must not come from the serial console";
  auto runtime_json = read_json(runtime("vsock") / "runtime.json");
  EXPECT_EQ(runtime_json["vsockDevice"], "vhost-user (microagent)");
}

TEST_F(RunTest, JsonPrintsTheFinalEventWithTheResult) {
  auto run = run_cli(tmp.path, {"--json", "run", "--name", "json", "--env", "GREETING=hello", "--workdir", "/tmp", "--",
                                "sh", "-c", "echo $GREETING; pwd"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto event = nlohmann::json::parse(run.out, nullptr, false);
  ASSERT_FALSE(event.is_discarded()) << run.out;
  EXPECT_EQ(event["state"], "stopped");
  EXPECT_EQ(event["identity"]["runtimeID"], "json");
  auto out = base64_decode(event["result"]["stdout"].get<std::string>());
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, "hello\n/tmp\n");
}

TEST_F(RunTest, ConfigTooLargeForTheCommandLineTravelsInTheInitramfs) {
  // 8 KiB of environment and a 4 KiB script: far past the kernel command line.
  const std::string big(8192, 'x');
  std::string script = "echo ${#BIG}";
  for (int i = 0; i < 400; ++i) script += "; : padding-" + std::to_string(i);
  auto run = run_cli(tmp.path, {"run", "--name", "large", "--env", "BIG=" + big, "--", "sh", "-c", script});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "8192\n");
  auto runtime_json = read_json(runtime("large") / "runtime.json");
  EXPECT_EQ(runtime_json["kernelCmdline"].get<std::string>().find("microagent.config="), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(runtime("large") / "initrd-with-config.cpio"));
}

TEST_F(RunTest, SignalledWorkloadMapsToShellExitCode) {
  auto run = run_cli(tmp.path, {"run", "--name", "signal", "--", "sh", "-c", "kill -9 $$"});
  EXPECT_EQ(run.exit_code, 128 + 9);
  EXPECT_EQ(read_json(runtime("signal") / "result.json")["signal"], 9);
}

TEST_F(RunTest, BadInputIsRefusedBeforeAnyGuestBoots) {
  auto run = run_cli(tmp.path, {"run", "--name", "../escape", "--", "true"});
  EXPECT_EQ(run.exit_code, 125);
  EXPECT_NE(run.err.find("invalid_request"), std::string::npos) << run.err;
  EXPECT_FALSE(std::filesystem::exists(tmp.path / ".." / "escape"));
  auto env = run_cli(tmp.path, {"run", "--env", "NOEQUALS", "--", "true"});
  EXPECT_EQ(env.exit_code, 125);
  EXPECT_NE(env.err.find("NAME=VALUE"), std::string::npos) << env.err;
}

}  // namespace
}  // namespace microagent::e2e
