// The workload runner on the host: the same code PID 1 runs in a guest.
#include "guestinit/workload_runner.hpp"

#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

namespace microagent::guestinit {
namespace {

GuestConfig shell(const std::string& script) {
  GuestConfig config;
  config.argv = {"sh", "-c", script};
  return config;
}

// Deterministic "random" bytes: every byte value, in a scrambled order.
std::string pattern_bytes(std::size_t size) {
  std::string bytes(size, '\0');
  std::uint32_t x = 2463534242u;
  for (auto& b : bytes) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<char>(x & 0xFF);
  }
  return bytes;
}

class TempDir {
 public:
  TempDir() {
    char name[] = "/tmp/guestinit-test-XXXXXX";
    path_ = ::mkdtemp(name);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

TEST(WorkloadRunner, CapturesExitCodeStdoutAndStderr) {
  const GuestResult result = run_workload(shell("echo out; echo err >&2; exit 3"));
  EXPECT_EQ(result.error, "");
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_FALSE(result.signal.has_value());
  EXPECT_EQ(result.stdout_data, "out\n");
  EXPECT_EQ(result.stderr_data, "err\n");
  EXPECT_EQ(result.stdout_bytes, 4u);
  EXPECT_EQ(result.stderr_bytes, 4u);
  EXPECT_FALSE(result.stdout_truncated);
  EXPECT_FALSE(result.started_at.empty());
  EXPECT_FALSE(result.finished_at.empty());
}

TEST(WorkloadRunner, BinaryOutputIsByteExact) {
  TempDir dir;
  const std::string bytes = pattern_bytes(64 * 1024);
  std::ofstream(dir.path() / "data.bin", std::ios::binary) << bytes;
  // Both streams at once: a runner that reads them in turn would deadlock here.
  GuestConfig config = shell("head -c 65536 data.bin; head -c 65536 data.bin >&2");
  config.workdir = dir.path();
  const GuestResult result = run_workload(config);
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.stdout_bytes, bytes.size());
  EXPECT_TRUE(result.stdout_data == bytes);
  EXPECT_TRUE(result.stderr_data == bytes);
}

TEST(WorkloadRunner, TruncatesOverTheLimitButCountsAndDrainsEverything) {
  GuestConfig config = shell("head -c 3000000 /dev/zero; echo tail >&2");
  config.output_limit = 1000;
  const GuestResult result = run_workload(config);
  EXPECT_EQ(result.exit_code, 0);  // never blocked on a full pipe
  EXPECT_TRUE(result.stdout_truncated);
  EXPECT_EQ(result.stdout_data, std::string(1000, '\0'));
  EXPECT_EQ(result.stdout_bytes, 3000000u);
  EXPECT_FALSE(result.stderr_truncated);
  EXPECT_EQ(result.stderr_data, "tail\n");
}

TEST(WorkloadRunner, OutputExactlyAtTheLimitIsNotTruncated) {
  GuestConfig config = shell("printf 12345");
  config.output_limit = 5;
  const GuestResult result = run_workload(config);
  EXPECT_FALSE(result.stdout_truncated);
  EXPECT_EQ(result.stdout_data, "12345");
}

TEST(WorkloadRunner, CommandNotFoundIs127WithError) {
  GuestConfig config;
  config.argv = {"microagent-no-such-command"};
  const GuestResult result = run_workload(config);
  EXPECT_EQ(result.exit_code, 127);
  EXPECT_EQ(result.error, "command not found: microagent-no-such-command");

  config.argv = {"/no/such/path/tool"};
  EXPECT_EQ(run_workload(config).exit_code, 127);
}

TEST(WorkloadRunner, NotExecutableIs126WithError) {
  TempDir dir;
  const auto script = dir.path() / "script.sh";
  std::ofstream(script) << "#!/bin/sh\necho hi\n";
  ::chmod(script.c_str(), 0644);
  GuestConfig config;
  config.argv = {script.string()};
  GuestResult result = run_workload(config);
  EXPECT_EQ(result.exit_code, 126);
  EXPECT_NE(result.error.find("not executable"), std::string::npos) << result.error;

  // Found only as a non-executable file on PATH: still 126, as execvpe.
  config.argv = {"script.sh"};
  config.env = {{"PATH", dir.path().string()}};
  result = run_workload(config);
  EXPECT_EQ(result.exit_code, 126);
}

TEST(WorkloadRunner, BadWorkdirIs126WithError) {
  GuestConfig config = shell("true");
  config.workdir = "/no/such/dir";
  const GuestResult result = run_workload(config);
  EXPECT_EQ(result.exit_code, 126);
  EXPECT_NE(result.error.find("workdir not usable: /no/such/dir"), std::string::npos) << result.error;
}

TEST(WorkloadRunner, ReportsTheKillingSignal) {
  const GuestResult result = run_workload(shell("kill -9 $$"));
  EXPECT_FALSE(result.exit_code.has_value());
  EXPECT_EQ(result.signal, 9);
  EXPECT_EQ(result.error, "");
}

TEST(WorkloadRunner, HonoursEnvAndWorkdir) {
  TempDir dir;
  GuestConfig config = shell("echo \"$GREETING|$HOME|$TERM|$PATH\"; pwd");
  config.env = {{"GREETING", "hello world"}, {"TERM", "xterm"}};
  config.workdir = dir.path();
  const GuestResult result = run_workload(config);
  EXPECT_EQ(result.stdout_data, "hello world|/root|xterm|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n" +
                                    dir.path().string() + "\n");
}

TEST(WorkloadRunner, DoesNotInheritTheCallersEnvironment) {
  ::setenv("MICROAGENT_TEST_LEAK", "1", 1);
  const GuestResult result = run_workload(shell("echo \"[$MICROAGENT_TEST_LEAK]\""));
  ::unsetenv("MICROAGENT_TEST_LEAK");
  EXPECT_EQ(result.stdout_data, "[]\n");
}

TEST(WorkloadRunner, StdinIsDevNull) {
  const GuestResult result = run_workload(shell("cat; echo done"));
  EXPECT_EQ(result.stdout_data, "done\n");
}

TEST(WorkloadRunner, BackgroundChildHoldingThePipeCannotHangTheRunner) {
  const auto start = std::chrono::steady_clock::now();
  const GuestResult result =
      run_workload(shell("sleep 2 & echo started; exit 0"), RunOptions{.reap_orphans = false, .drain_after_exit_ms = 300});
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.stdout_data, "started\n");
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

// PID 1 inherits orphans; a child subreaper stands in for it here, in a forked
// process so the test runner itself never waits on children it did not make.
TEST(WorkloadRunner, ReapsOrphansWhenActingAsInit) {
  const pid_t helper = ::fork();
  ASSERT_GE(helper, 0);
  if (helper == 0) {
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    // The subshell exits at once, orphaning the inner sh, which exits after 0.1 s.
    const GuestResult result =
        run_workload(shell("(sh -c 'exec >&- 2>&-; sleep 0.1' &); sleep 0.5; exit 4"), RunOptions{.reap_orphans = true});
    int status = 0;
    const bool no_children_left = ::waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD;
    ::_exit(result.exit_code == 4 && no_children_left ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(helper, &status, 0), helper);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(WorkloadRunner, MeasuresDuration) {
  const GuestResult result = run_workload(shell("sleep 0.2"));
  EXPECT_GE(result.duration_ms, 190u);
  EXPECT_LT(result.duration_ms, 5000u);
}

}  // namespace
}  // namespace microagent::guestinit
