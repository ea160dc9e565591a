// The guest's connect server, run on this host over a socketpair: the test
// plays the host with raw frames.
#include "guestinit/connect_server.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "common/connect_wire.hpp"
#include "common/guest_wire.hpp"
#include "common/unique_fd.hpp"
#include "guestinit/control_channel.hpp"

namespace microagent::guestinit {
namespace {

namespace wire = connect_wire;
using namespace std::chrono_literals;

struct Transcript {
  std::string stdout_data;
  std::string stderr_data;
  std::string errors;
  std::optional<wire::ExitStatus> exit;
};

// The host end: the server runs in a thread on the other end of a socketpair.
class RawHost {
 public:
  explicit RawHost(SessionOptions options = {}) {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    host_.reset(fds[0]);
    guest_.reset(fds[1]);
    server_ = std::thread([this, options] { serve_connect_session(guest_.get(), options); });
  }
  ~RawHost() {
    host_.reset();
    if (server_.joinable()) server_.join();
  }

  void send_raw(std::string_view bytes) { ASSERT_EQ(::send(host_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size())); }
  void request(const wire::ConnectRequest& r) { send_raw(wire::connect_request_to_line(r)); }
  void frame(wire::FrameType type, std::string_view payload = {}) { send_raw(wire::encode_frame(type, payload)); }
  void type(std::string_view text) { frame(wire::FrameType::stdin_data, text); }

  // Reads frames until `until` holds for the transcript or the exit frame; false on timeout.
  bool read_until(const std::function<bool(const Transcript&)>& until, std::chrono::milliseconds timeout = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!until(t_) && !t_.exit) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{host_.get(), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buffer[4096];
      const ssize_t n = ::read(host_.get(), buffer, sizeof buffer);
      if (n <= 0) return false;
      inbound_.append(buffer, static_cast<std::size_t>(n));
      while (true) {
        auto f = wire::take_frame(inbound_);
        if (!f || !*f) break;
        if ((*f)->type == wire::FrameType::stdout_data) t_.stdout_data += (*f)->payload;
        if ((*f)->type == wire::FrameType::stderr_data) t_.stderr_data += (*f)->payload;
        if ((*f)->type == wire::FrameType::error) t_.errors += (*f)->payload;
        if ((*f)->type == wire::FrameType::exit) t_.exit = *wire::decode_exit((*f)->payload);
      }
    }
    return until(t_) || t_.exit.has_value();
  }
  const Transcript& finish() {
    read_until([](const Transcript&) { return false; });
    return t_;
  }
  bool stdout_has(const std::string& text) {
    return read_until([&](const Transcript& t) { return t.stdout_data.find(text) != std::string::npos; }) &&
           t_.stdout_data.find(text) != std::string::npos;
  }
  void close_host() {
    host_.reset();
    server_.join();
  }

 private:
  UniqueFd host_;
  UniqueFd guest_;
  std::thread server_;
  std::string inbound_;
  Transcript t_;
};

wire::ConnectRequest command(std::vector<std::string> argv, bool tty = false) {
  wire::ConnectRequest r;
  r.command = std::move(argv);
  r.tty = tty;
  return r;
}

TEST(ConnectServer, RunsACommandAndReportsItsExitCode) {
  RawHost host;
  host.request(command({"sh", "-c", "echo hi; echo oops >&2; exit 7"}));
  host.frame(wire::FrameType::stdin_eof);
  const auto& t = host.finish();
  EXPECT_EQ(t.stdout_data, "hi\n");
  EXPECT_EQ(t.stderr_data, "oops\n");
  ASSERT_TRUE(t.exit);
  EXPECT_EQ(t.exit->exit_code, 7);
}

TEST(ConnectServer, PassesStdinThroughUntilEof) {
  RawHost host;
  host.request(command({"cat"}));
  host.type("abc");
  host.type("def\n");
  host.frame(wire::FrameType::stdin_eof);
  const auto& t = host.finish();
  EXPECT_EQ(t.stdout_data, "abcdef\n");
  EXPECT_EQ(t.exit->exit_code, 0);
}

TEST(ConnectServer, FramesMayArriveWithTheRequestLine) {
  RawHost host;
  host.send_raw(wire::connect_request_to_line(command({"cat"})) + wire::encode_frame(wire::FrameType::stdin_data, "x") +
                wire::encode_frame(wire::FrameType::stdin_eof, ""));
  EXPECT_EQ(host.finish().stdout_data, "x");
}

TEST(ConnectServer, CommandNotFoundIsAnErrorFrameAndExit127) {
  RawHost host;
  host.request(command({"no-such-command-xyz"}));
  const auto& t = host.finish();
  EXPECT_NE(t.errors.find("command not found: no-such-command-xyz"), std::string::npos) << t.errors;
  EXPECT_EQ(t.exit->exit_code, 127);
}

TEST(ConnectServer, BadWorkdirAndBadRequestAreErrors) {
  {
    RawHost host;
    auto r = command({"true"});
    r.workdir = "/no/such/dir";
    host.request(r);
    const auto& t = host.finish();
    EXPECT_NE(t.errors.find("workdir not usable"), std::string::npos);
    EXPECT_EQ(t.exit->exit_code, 126);
  }
  {
    RawHost host;
    host.send_raw("{\"tty\":\"yes\"}\n");
    const auto& t = host.finish();
    EXPECT_NE(t.errors.find("tty"), std::string::npos);
    EXPECT_EQ(t.exit->exit_code, 126);
  }
}

// These tests run as root on the host: a session may drop to another user.
TEST(ConnectServer, RunsAsTheWorkspaceUserUnlessTheRequestNamesOne) {
  SessionOptions options;
  options.default_user = "65534:65534";
  {
    RawHost host(options);
    host.request(command({"sh", "-c", "id -u; id -g; echo $HOME"}));
    host.frame(wire::FrameType::stdin_eof);
    const auto& t = host.finish();
    EXPECT_TRUE(t.stdout_data.starts_with("65534\n65534\n")) << t.stdout_data << t.errors;
    EXPECT_EQ(t.exit->exit_code, 0);
  }
  {
    RawHost host(options);
    auto r = command({"id", "-u"});
    r.user = "0";
    host.request(r);
    host.frame(wire::FrameType::stdin_eof);
    EXPECT_EQ(host.finish().stdout_data, "0\n");
  }
  {
    RawHost host(options);
    auto r = command({"true"});
    r.user = "no-such-user-xyz";
    host.request(r);
    const auto& t = host.finish();
    EXPECT_NE(t.errors.find("no-such-user-xyz"), std::string::npos) << t.errors;
    EXPECT_EQ(t.exit->exit_code, 126);
  }
}

TEST(ConnectServerTty, TheSessionUserOwnsItsTerminal) {
  SessionOptions options;
  options.default_user = "65534";
  RawHost host(options);
  auto r = command({"sh", "-c", "stat -c %u $(tty)"}, true);
  host.request(r);
  EXPECT_TRUE(host.stdout_has("65534")) << host.finish().errors;
}

TEST(ConnectServer, SignalFrameReachesTheCommand) {
  RawHost host;
  host.request(command({"sleep", "100"}));
  std::this_thread::sleep_for(200ms);
  host.frame(wire::FrameType::signal, wire::encode_signal(SIGTERM));
  const auto& t = host.finish();
  ASSERT_TRUE(t.exit);
  EXPECT_EQ(t.exit->signal, SIGTERM);
}

TEST(ConnectServer, OversizeFrameEndsTheSession) {
  RawHost host;
  host.request(command({"sleep", "100"}));
  host.send_raw(std::string("\x01\x7f\xff\xff\xff", 5));
  const auto start = std::chrono::steady_clock::now();
  const auto& t = host.finish();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  EXPECT_NE(t.errors.find("exceeds the limit"), std::string::npos) << t.errors;
  ASSERT_TRUE(t.exit);
  EXPECT_EQ(t.exit->signal, SIGHUP);
}

TEST(ConnectServer, HostGoingAwayEndsTheCommand) {
  RawHost host;
  host.request(command({"sleep", "100"}));
  std::this_thread::sleep_for(200ms);
  const auto start = std::chrono::steady_clock::now();
  host.close_host();  // joins the server: it must give up on its own
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(ConnectServerTty, ShellRunsCommandsAndExitCodePassesThrough) {
  RawHost host;
  host.request(command({"sh"}, true));
  host.type("echo $((6*7))\n");
  EXPECT_TRUE(host.stdout_has("42"));
  host.type("exit 3\n");
  const auto& t = host.finish();
  ASSERT_TRUE(t.exit);
  EXPECT_EQ(t.exit->exit_code, 3);
  EXPECT_TRUE(t.stderr_data.empty());  // a pty has one output stream
}

TEST(ConnectServerTty, ResizeChangesSttySize) {
  RawHost host;
  auto r = command({"sh"}, true);
  r.size = {33, 91};
  host.request(r);
  host.type("stty size\n");
  EXPECT_TRUE(host.stdout_has("33 91"));
  host.frame(wire::FrameType::resize, wire::encode_resize({50, 120}));
  host.type("stty size\n");
  EXPECT_TRUE(host.stdout_has("50 120"));
  host.type("exit\n");
  EXPECT_EQ(host.finish().exit->exit_code, 0);
}

TEST(ConnectServerTty, CtrlCInterruptsTheForegroundCommandOnly) {
  RawHost host;
  host.request(command({"sh"}, true));
  host.type("echo start; sleep 100\n");
  EXPECT_TRUE(host.stdout_has("start\r\n"));
  std::this_thread::sleep_for(300ms);  // let sleep become the foreground job
  const auto start = std::chrono::steady_clock::now();
  host.type("\x03");
  host.type("echo alive $((1+1))\n");
  EXPECT_TRUE(host.stdout_has("alive 2"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  host.type("exit 5\n");
  EXPECT_EQ(host.finish().exit->exit_code, 5);
}

TEST(ConnectServerTty, StdinEofEndsTheShell) {
  RawHost host;
  host.request(command({"sh"}, true));
  host.frame(wire::FrameType::stdin_eof);
  const auto& t = host.finish();
  ASSERT_TRUE(t.exit);
  EXPECT_EQ(t.exit->exit_code, 0);
}

TEST(ControlChannel, ParsesHaltAndRejectsTheRest) {
  auto halt = parse_control_command("{\"command\":\"halt\"}\n");
  ASSERT_TRUE(halt);
  EXPECT_EQ(halt->command, ControlCommand::halt);
  EXPECT_EQ(halt->grace_ms, kDefaultHaltGraceMs);
  EXPECT_EQ(parse_control_command(R"({"command":"halt","graceMs":30000})")->grace_ms, 30000u);
  EXPECT_EQ(parse_control_command(R"({"command":"halt","graceMs":0})")->grace_ms, 0u);
  EXPECT_EQ(parse_control_command(halt_command_line(std::chrono::seconds(45)))->grace_ms, 45000u);  // the host's line
  for (const char* bad : {R"({"command":"halt","graceMs":-1})", R"({"command":"halt","graceMs":"5"})",
                          R"({"command":"halt","graceMs":600001})", R"({"command":"halt","graceMs":1.5})"}) {
    EXPECT_EQ(parse_control_command(bad).error().code, ErrorCode::invalid_request) << bad;
  }
  EXPECT_EQ(parse_control_command("{\"command\":\"reboot\"}").error().code, ErrorCode::unsupported);
  for (const char* bad : {"", "halt", "[]", "{}", "{\"command\":1}"}) {
    EXPECT_EQ(parse_control_command(bad).error().code, ErrorCode::invalid_request) << bad;
  }
  EXPECT_EQ(control_reply(true), "{\"ok\":true}\n");
  EXPECT_EQ(control_reply(false, "no"), "{\"error\":\"no\",\"ok\":false}\n");
  EXPECT_EQ(readiness_line("guestReady", "2026-11-01T00:00:00Z"),
            "{\"at\":\"2026-11-01T00:00:00Z\",\"event\":\"guestReady\"}\n");
}

}  // namespace
}  // namespace microagent::guestinit
