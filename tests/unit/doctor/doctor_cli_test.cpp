// The built `microagent doctor` (and `run`'s platform routing) as a user runs
// them: exit codes, the --json shape, and what this machine reports.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/process.hpp"

namespace microagent {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

const fs::path kBin = MICROAGENT_BIN_DIR;

class TempHome {
 public:
  TempHome() {
    std::string pattern = (fs::temp_directory_path() / "ma-doctor-cli-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempHome() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Runs `microagent ARGS` with MICROAGENT_HOME = home ("" keeps the caller's).
CommandOutput microagent(std::vector<std::string> args, const std::string& home) {
  std::vector<std::string> argv{(kBin / "microagent").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  SpawnOptions options;
  if (!home.empty()) options.extra_env["MICROAGENT_HOME"] = home;
  options.extra_env.erase("MICROAGENT_ACCEL");
  auto output = run_command(argv, {}, options);
  EXPECT_TRUE(output) << (output ? "" : output.error().message);
  return output ? *output : CommandOutput{};
}

bool kvm_device_usable() {
  const int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

TEST(DoctorCli, JsonShape) {
  TempHome home;
  auto out = microagent({"doctor", "--backend", "linux-kvm", "--json", "--state-dir", (home.path() / "state").string()},
                        home.path().string());
  const json report = json::parse(out.out, nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << out.out << out.err;
  for (const char* key : {"backend", "accel", "verdict", "summary", "checks"}) EXPECT_TRUE(report.contains(key)) << key;
  EXPECT_EQ(report["backend"], "linux-kvm");
  ASSERT_TRUE(report["checks"].is_array());
  ASSERT_FALSE(report["checks"].empty());
  for (const auto& check : report["checks"]) {
    for (const char* key : {"name", "status", "detail", "fix"}) EXPECT_TRUE(check.contains(key)) << check.dump();
    EXPECT_THAT((std::vector<std::string>{"ok", "warn", "fail"}), ::testing::Contains(check["status"].get<std::string>()));
  }
  // An empty home has no kernel: the verdict fails, names it, and the exit code says so.
  EXPECT_EQ(report["verdict"], "fail");
  EXPECT_THAT(report["summary"].get<std::string>(), HasSubstr("kernel"));
  EXPECT_EQ(out.status.exit_code, 1);
}

TEST(DoctorCli, ThisMachineKvmCannotRunAKernelSoTcg) {
  if (!kvm_device_usable()) GTEST_SKIP() << "no accessible /dev/kvm here";
  TempHome state;
  auto out = microagent({"doctor", "--backend", "linux-kvm", "--state-dir", state.path().string()}, "");
  std::istringstream lines(out.out);
  std::string line, accel_line, verdict_line;
  while (std::getline(lines, line)) {
    if (line.rfind("accel ", 0) == 0) accel_line = line;
    if (line.rfind("ok: ", 0) == 0 || line.rfind("FAIL: ", 0) == 0) verdict_line = line;
  }
  ASSERT_FALSE(accel_line.empty()) << out.out;
  if (accel_line.find("runs ring-0 guest code") != std::string::npos) GTEST_SKIP() << "this host's KVM boots kernels";
  // DESIGN.md section 5: present, cannot run ring 0, tcg chosen, in one line.
  EXPECT_THAT(accel_line, HasSubstr("/dev/kvm is present but cannot run ring-0 guest code"));
  EXPECT_THAT(accel_line, HasSubstr("using tcg"));
  EXPECT_THAT(out.out, HasSubstr("cannot run a kernel"));
  if (out.status.exit_code == 0) {
    EXPECT_THAT(verdict_line, HasSubstr("will run guests with linux-kvm using tcg: "));
  }
}

TEST(DoctorCli, DefaultBackendOnPlainLinuxIsLinuxKvm) {
  TempHome home;
  auto out = microagent({"doctor", "--json"}, home.path().string());
  const json report = json::parse(out.out, nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << out.out << out.err;
  std::ifstream release("/proc/sys/kernel/osrelease");
  std::string text;
  std::getline(release, text);
  if (text.find("microsoft-standard-WSL2") != std::string::npos) GTEST_SKIP() << "this is WSL2";
  EXPECT_EQ(report["backend"], "linux-kvm");
}

TEST(DoctorCli, Wsl2HereFailsClosed) {
  TempHome home;
  auto out = microagent({"doctor", "--backend", "wsl2", "--json"}, home.path().string());
  const json report = json::parse(out.out, nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << out.out << out.err;
  EXPECT_EQ(report["backend"], "wsl2");
  EXPECT_EQ(report["verdict"], "fail");
  EXPECT_EQ(report["error"]["code"], "host_unavailable");
  EXPECT_THAT(report["error"]["message"].get<std::string>(), HasSubstr("only inside a WSL2 distro"));
  EXPECT_NE(out.status.exit_code, 0);

  auto human = microagent({"doctor", "--backend", "wsl2"}, home.path().string());
  EXPECT_NE(human.status.exit_code, 0);
  EXPECT_THAT(human.out, HasSubstr("FAIL: cannot run guests with wsl2"));
  EXPECT_THAT(human.err, HasSubstr("[host_unavailable]"));
}

TEST(DoctorCli, WindowsHypervFailsBeforeBuildingAnything) {
  TempHome home;  // empty: no kernel, so any build step would say "no guest kernel"
  auto run = microagent({"--backend", "windows-hyperv", "--json", "run", "--", "true"}, home.path().string());
  const json error = json::parse(run.out, nullptr, false);
  ASSERT_FALSE(error.is_discarded()) << run.out << run.err;
  EXPECT_EQ(error["error"]["code"], "host_unavailable");
  EXPECT_THAT(error["error"]["message"].get<std::string>(), HasSubstr("windows-hyperv"));
  EXPECT_EQ(error["error"]["message"].get<std::string>().find("kernel"), std::string::npos);
  EXPECT_EQ(run.status.exit_code, 125);
  EXPECT_TRUE(fs::is_empty(home.path()));  // nothing built, nothing cached

  auto doctor = microagent({"doctor", "--backend", "windows-hyperv", "--json"}, home.path().string());
  const json report = json::parse(doctor.out, nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << doctor.out;
  EXPECT_EQ(report["error"]["code"], "host_unavailable");
  EXPECT_NE(doctor.status.exit_code, 0);
}

TEST(DoctorCli, Wsl2OutsideWsl2FailsBeforeBuildingAnything) {
  if (std::getenv("WSL_DISTRO_NAME")) GTEST_SKIP() << "this host is WSL";
  TempHome home;
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--backend", "wsl2", "--json", "run", "--", "true"},
                                              std::vector<std::string>{"--backend", "wsl2", "--json", "start", "ws"}}) {
    auto run = microagent(args, home.path().string());
    const json error = json::parse(run.out, nullptr, false);
    ASSERT_FALSE(error.is_discarded()) << run.out << run.err;
    EXPECT_EQ(error["error"]["code"], "host_unavailable");
    EXPECT_THAT(error["error"]["message"].get<std::string>(), HasSubstr("WSL2"));
    EXPECT_EQ(run.status.exit_code, 125);
    EXPECT_TRUE(fs::is_empty(home.path()));  // nothing built, nothing cached
  }
}

TEST(DoctorCli, UnknownBackendIsInvalidRequest) {
  TempHome home;
  auto run = microagent({"--backend", "firecracker", "--json", "run", "--", "true"}, home.path().string());
  const json error = json::parse(run.out, nullptr, false);
  ASSERT_FALSE(error.is_discarded()) << run.out << run.err;
  EXPECT_EQ(error["error"]["code"], "invalid_request");
  EXPECT_TRUE(fs::is_empty(home.path()));
}

}  // namespace
}  // namespace microagent
