#include "guestinit/console_shell.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "common/unique_fd.hpp"

namespace microagent::guestinit {
namespace {

TEST(ConsoleShellRespawn, BacksOffWhileItDiesAtOnceAndResetsAfterAGoodRun) {
  struct Case {
    std::uint64_t previous, lived, next;
  };
  const Case cases[] = {
      {0, 0, kConsoleRespawnMinMs},                          // first exit, immediate
      {kConsoleRespawnMinMs, 10, 2 * kConsoleRespawnMinMs},  // doubles
      {4000, 100, 8000},
      {8000, 100, kConsoleRespawnMaxMs},                     // capped
      {kConsoleRespawnMaxMs, 100, kConsoleRespawnMaxMs},
      {kConsoleRespawnMaxMs, kConsoleStableRunMs, kConsoleRespawnMinMs},  // ran long enough: back at once
      {0, 60000, kConsoleRespawnMinMs},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(next_console_respawn_delay_ms(c.previous, c.lived), c.next) << c.previous << " / " << c.lived;
  }
}

TEST(ConsoleShellRespawn, EnvironmentIsTermLinuxAndNothingInherited) {
  ::setenv("MICROAGENT_CONSOLE_TEST_LEAK", "1", 1);
  const auto env = console_shell_env();
  EXPECT_NE(std::find(env.begin(), env.end(), "TERM=linux"), env.end());
  EXPECT_NE(std::find(env.begin(), env.end(), "HOME=/root"), env.end());
  EXPECT_TRUE(std::any_of(env.begin(), env.end(), [](const std::string& e) { return e.starts_with("PATH=/"); }));
  EXPECT_TRUE(std::none_of(env.begin(), env.end(), [](const std::string& e) { return e.starts_with("MICROAGENT_"); }));
  ::unsetenv("MICROAGENT_CONSOLE_TEST_LEAK");
}

// Reads the PTY master until `needle` shows up or the time is up.
std::string read_until(int master, const std::string& needle, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string seen;
  while (seen.find(needle) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd p{master, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buffer[512];
    const ssize_t n = ::read(master, buffer, sizeof buffer);
    if (n > 0) seen.append(buffer, static_cast<std::size_t>(n));
  }
  return seen;
}

bool exited_within(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid, nullptr, WNOHANG) == pid) return true;
    ::usleep(10000);
  }
  return false;
}

std::uint64_t now_ms() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

// The real fork/setsid/TIOCSCTTY/exec path, on a PTY standing in for ttyS0.
TEST(ConsoleShell, RunsAShellOnTheTerminalRespawnsItAndHangsItUp) {
  UniqueFd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  ASSERT_TRUE(master);
  ASSERT_EQ(::grantpt(master.get()), 0);
  ASSERT_EQ(::unlockpt(master.get()), 0);
  const std::string slave = ::ptsname(master.get());

  ConsoleShell shell(slave, "/bin/sh");
  shell.start(now_ms());
  const pid_t first = shell.pid();
  ASSERT_GT(first, 0);
  const std::string typed = "echo tty-$(tty) term-$TERM sum-$((6*7))\n";
  ASSERT_EQ(::write(master.get(), typed.data(), typed.size()), static_cast<ssize_t>(typed.size()));
  const std::string out = read_until(master.get(), "sum-42", std::chrono::seconds(5));
  EXPECT_NE(out.find("tty-" + slave), std::string::npos) << out;
  EXPECT_NE(out.find("term-linux"), std::string::npos) << out;

  // `exit`: the shell ends and a new one is scheduled, not started at once.
  ASSERT_EQ(::write(master.get(), "exit\n", 5), 5);
  ASSERT_TRUE(exited_within(first, std::chrono::seconds(5)));
  EXPECT_FALSE(shell.on_exit(first + 100000, now_ms()));  // someone else's child
  const std::uint64_t exited_at = now_ms();
  EXPECT_TRUE(shell.on_exit(first, exited_at));
  EXPECT_EQ(shell.pid(), -1);
  EXPECT_GT(shell.poll_timeout_ms(exited_at, 1000), 0);
  EXPECT_LE(shell.poll_timeout_ms(exited_at, 1000), static_cast<int>(kConsoleRespawnMinMs));
  shell.respawn_if_due(exited_at);
  EXPECT_EQ(shell.pid(), -1);
  shell.respawn_if_due(exited_at + kConsoleRespawnMinMs);
  const pid_t second = shell.pid();
  ASSERT_GT(second, 0);
  const std::string again = "echo again-$((6*7))\n";
  ASSERT_EQ(::write(master.get(), again.data(), again.size()), static_cast<ssize_t>(again.size()));
  EXPECT_NE(read_until(master.get(), "again-42", std::chrono::seconds(5)).find("again-42"), std::string::npos);

  // Halting: an interactive shell ignores SIGTERM, but not the hang-up; no respawn after.
  shell.hang_up();
  ASSERT_TRUE(exited_within(second, std::chrono::seconds(5)));
  EXPECT_TRUE(shell.on_exit(second, now_ms()));
  EXPECT_EQ(shell.poll_timeout_ms(now_ms(), 1000), 1000);
  shell.respawn_if_due(now_ms() + kConsoleRespawnMaxMs);
  EXPECT_EQ(shell.pid(), -1);
}

}  // namespace
}  // namespace microagent::guestinit
