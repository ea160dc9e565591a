// The real binary, not PID 1: `--run-config FILE` runs the workload and prints the result.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <unistd.h>

#include "common/guest_wire.hpp"

namespace microagent {
namespace {

#ifdef MICROAGENT_BIN_DIR
const std::string kGuestInit = std::string(MICROAGENT_BIN_DIR) + "/microagent-guestinit-x86_64";
#else
const std::string kGuestInit = "./microagent-guestinit-x86_64";
#endif

// Runs a shell command and returns its stdout and exit status.
std::pair<std::string, int> run(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  std::string out;
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  const int status = ::pclose(pipe);
  return {out, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

class GuestInitProgram : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::ifstream(kGuestInit)) GTEST_SKIP() << kGuestInit << " is not built";
  }
  // Unique per test: CTest runs the tests of one binary in parallel processes.
  std::string config_file = ::testing::TempDir() + "/guestinit-" +
                            ::testing::UnitTest::GetInstance()->current_test_info()->name() + "-" +
                            std::to_string(::getpid()) + ".json";
  void TearDown() override { std::remove(config_file.c_str()); }
};

TEST_F(GuestInitProgram, RunConfigPrintsTheResultJson) {
  GuestConfig config;
  config.argv = {"sh", "-c", "printf 'a\\000b'; echo oops >&2; exit 5"};
  std::ofstream(config_file) << guest_config_to_json(config);
  auto [out, status] = run(kGuestInit + " --run-config " + config_file);
  EXPECT_EQ(status, 0);
  auto result = guest_result_from_json(out);
  ASSERT_TRUE(result.has_value()) << result.error().message << "\n" << out;
  EXPECT_EQ(result->exit_code, 5);
  EXPECT_EQ(result->stdout_data, std::string("a\0b", 3));
  EXPECT_EQ(result->stderr_data, "oops\n");
  EXPECT_FALSE(result->kernel_release.empty());
}

TEST_F(GuestInitProgram, RejectsABadConfigAndBadUsage) {
  std::ofstream(config_file) << R"({"argv":"not a list"})";
  EXPECT_EQ(run(kGuestInit + " --run-config " + config_file + " 2>/dev/null").second, 2);
  EXPECT_EQ(run(kGuestInit + " 2>/dev/null").second, 2);
  EXPECT_EQ(run(kGuestInit + " --run-config /no/such/file 2>/dev/null").second, 2);
}

}  // namespace
}  // namespace microagent
