#pragma once
// The one table of lifecycle cases (docs/lifecycle.md, "Allowed transitions")
// that every driver passes: the fake driver (tests/unit/supervisor), the Linux
// driver with real QEMU (tests/e2e) and the Windows driver over the fake HCS
// (tests/unit/windows_hyperv). Each harness reaches a case's starting state
// with real lifecycle commands its own way, sends the command and checks the
// outcome with check_lifecycle_case().
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

namespace microagent::testing {

enum class From { none, prepared, running, halted, stopped, quarantined, failed };

inline const char* from_name(From from) {
  static const char* names[] = {"none", "prepared", "running", "halted", "stopped", "quarantined", "failed"};
  return names[static_cast<int>(from)];
}

struct LifecycleCase {
  From from;
  std::string command;
  // A state name (the event the command returns), "error:CODE", or "deleted".
  std::string expect;
};

// gtest prints a case as "running + halt -> halted" (not as raw bytes).
inline void PrintTo(const LifecycleCase& c, std::ostream* out) {
  *out << from_name(c.from) << " + " << c.command << " -> " << c.expect;
}

// What a harness saw of one command: ok with the event's state, or the error's code.
struct Outcome {
  bool ok = false;
  std::string state;
  std::string code;
  std::string message;
};

inline std::vector<LifecycleCase> lifecycle_cases() {
  const std::vector<std::string> commands = {"prepare", "start", "halt",   "stop",
                                             "kill",    "quarantine", "delete", "console"};
  // One row per starting state, one column per command above.
  const std::vector<std::pair<From, std::vector<std::string>>> rows = {
      {From::none, {"prepared", "running", "error:not_found", "error:not_found", "error:not_found", "error:not_found",
                    "error:not_found", "error:not_found"}},
      {From::prepared, {"prepared", "running", "error:conflict", "prepared", "prepared", "quarantined", "deleted",
                        "error:conflict"}},
      {From::running, {"error:conflict", "error:conflict", "halted", "stopped", "stopped", "quarantined",
                       "error:conflict", "running"}},
      {From::halted, {"prepared", "running", "halted", "halted", "halted", "quarantined", "deleted", "error:conflict"}},
      {From::stopped, {"prepared", "running", "halted", "stopped", "stopped", "quarantined", "deleted",
                       "error:conflict"}},
      {From::quarantined, {"error:conflict", "error:conflict", "halted", "stopped", "stopped", "quarantined", "deleted",
                           "error:conflict"}},
      {From::failed, {"prepared", "running", "halted", "failed", "failed", "quarantined", "deleted", "error:conflict"}},
  };
  std::vector<LifecycleCase> cases;
  for (const auto& [from, expects] : rows) {
    for (std::size_t i = 0; i < commands.size(); ++i) cases.push_back({from, commands[i], expects[i]});
  }
  return cases;
}

// For INSTANTIATE_TEST_SUITE_P: "running_halt".
inline std::string lifecycle_case_name(const ::testing::TestParamInfo<LifecycleCase>& info) {
  return std::string(from_name(info.param.from)) + "_" + info.param.command;
}

// A backend without a serial console answers every console with unsupported.
inline std::string expected_outcome(const LifecycleCase& c, bool has_console) {
  if (c.command == "console" && !has_console) return "error:unsupported";
  return c.expect;
}

// `sent` is the command's outcome; `before` and `after` are inspect's before and
// after it. A refusal changes nothing; a delete leaves nothing to inspect.
inline void check_lifecycle_case(const LifecycleCase& c, bool has_console, const Outcome& before, const Outcome& sent,
                                 const Outcome& after) {
  const std::string expect = expected_outcome(c, has_console);
  const std::string where = std::string(from_name(c.from)) + " + " + c.command + ": " + sent.message;
  if (expect.rfind("error:", 0) == 0) {
    EXPECT_FALSE(sent.ok) << where;
    EXPECT_EQ(sent.code, expect.substr(6)) << where;
    EXPECT_EQ(after.ok, before.ok) << where << " changed the workspace";
    EXPECT_EQ(after.state, before.state) << where << " changed the workspace";
    return;
  }
  ASSERT_TRUE(sent.ok) << where << " (" << sent.code << ")";
  if (expect == "deleted") {
    EXPECT_FALSE(after.ok) << where;
    EXPECT_EQ(after.code, "not_found") << where;
    return;
  }
  EXPECT_EQ(sent.state, expect) << where;
  EXPECT_TRUE(after.ok) << where;
  EXPECT_EQ(after.state, expect) << where << " (inspect after)";
}

// Reaches `from` with real lifecycle commands: `must(command, state)` sends one
// and asserts the state it reports, `start()` reaches running (a harness may
// also wait for the guest), `fail()` reaches failed the harness's own way.
template <class Must, class Start, class Fail>
void reach_with_commands(From from, Must must, Start start, Fail fail) {
  switch (from) {
    case From::none: return;
    case From::prepared: return must("prepare", "prepared");
    case From::running: return start();
    case From::halted: must("prepare", "prepared"); must("quarantine", "quarantined"); return must("halt", "halted");
    case From::stopped: must("prepare", "prepared"); must("quarantine", "quarantined"); return must("stop", "stopped");
    case From::quarantined: must("prepare", "prepared"); return must("quarantine", "quarantined");
    case From::failed: return fail();
  }
}

// Sends the case's command between two inspects and checks all three.
template <class Send>
void run_lifecycle_case(const LifecycleCase& c, bool has_console, Send send) {
  const Outcome before = send("inspect");
  const Outcome sent = send(c.command);
  const Outcome after = send("inspect");
  check_lifecycle_case(c, has_console, before, sent, after);
}

}  // namespace microagent::testing
