// The Hyper-V connect session against a fake guest stream that plays the
// guest side of common/connect_wire.hpp: the request line, --send's exit
// status, stdout/stderr relay, error frames, signals, stdin/resize frames
// from local input, a guest that hangs up mid-frame, malformed frames; then
// connect_workspace over a state dir: the RuntimeId `start` records, a
// workspace that is missing, not running or refuses the connection.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>

#include "backend_fixture.hpp"
#include "common/connect_session.hpp"
#include "backends/windows_hyperv/workspace_connect.hpp"
#include "common/connect_wire.hpp"

namespace microagent::windows_hyperv::testing {
namespace {

namespace wire = connect_wire;
using nlohmann::json;
using namespace std::chrono_literals;

std::string frame(wire::FrameType type, std::string_view payload) { return wire::encode_frame(type, payload); }
std::string exit_frame(int code) { return frame(wire::FrameType::exit, wire::encode_exit({code, std::nullopt})); }

// The guest: records what the host sent; answers with scripted chunks, one
// per receive(), then hangs up (""). With `echo_stdin`, it first waits for
// the host's stdin_eof and answers everything it got on stdin as stdout.
class FakeGuestStream : public GuestStream {
 public:
  std::deque<std::string> chunks;
  bool echo_stdin = false;
  std::optional<Error> send_error;

  Result<void> send(std::string_view bytes) override {
    std::lock_guard lock(mutex_);
    if (send_error) return std::unexpected(*send_error);
    sent_ += bytes;
    changed_.notify_all();
    return {};
  }

  Result<std::string> receive() override {
    if (echo_stdin) {
      echo_stdin = false;
      std::unique_lock lock(mutex_);
      if (!changed_.wait_for(lock, 5s, [&] { return host_frames_locked().second; })) {
        return fail(ErrorCode::internal, "fake guest: no stdin_eof within 5 s");
      }
      std::string echoed;
      for (const auto& f : host_frames_locked().first) {
        if (f.type == wire::FrameType::stdin_data) echoed += f.payload;
      }
      return frame(wire::FrameType::stdout_data, echoed) + exit_frame(0);
    }
    if (chunks.empty()) return std::string();
    auto chunk = chunks.front();
    chunks.pop_front();
    return chunk;
  }

  // The request line the host sent.
  wire::ConnectRequest request() {
    std::lock_guard lock(mutex_);
    const auto end = sent_.find('\n');
    EXPECT_NE(end, std::string::npos);
    auto parsed = wire::connect_request_from_line(sent_.substr(0, end + 1));
    EXPECT_TRUE(parsed) << sent_;
    return parsed ? *parsed : wire::ConnectRequest{};
  }
  // The frames after the request line.
  std::vector<wire::Frame> frames() {
    std::lock_guard lock(mutex_);
    return host_frames_locked().first;
  }

 private:
  std::pair<std::vector<wire::Frame>, bool> host_frames_locked() {
    std::vector<wire::Frame> out;
    const auto end = sent_.find('\n');
    if (end == std::string::npos) return {out, false};
    std::string rest = sent_.substr(end + 1);
    bool eof = false;
    while (true) {
      auto f = wire::take_frame(rest);
      if (!f || !*f) break;
      eof = eof || (*f)->type == wire::FrameType::stdin_eof;
      out.push_back(**f);
    }
    return {out, eof};
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::string sent_;
};

struct CapturedOutput : ConnectOutput {
  void write_stdout(std::string_view bytes) override { out += bytes; }
  void write_stderr(std::string_view bytes) override { err += bytes; }
  std::string out, err;
};

// Local input as a script: each next() hands out the following item.
struct ScriptedInput : ConnectInputSource {
  std::deque<ConnectInput> items;
  std::optional<ConnectInput> next(std::chrono::milliseconds wait) override {
    if (items.empty()) {
      std::this_thread::sleep_for(std::min(wait, std::chrono::milliseconds(10)));
      return std::nullopt;
    }
    auto item = items.front();
    items.pop_front();
    return item;
  }
};

wire::ConnectRequest send_request(const std::string& command) {
  ConnectCommand c;
  c.send = command;
  return connect_request_for(c);
}

TEST(ConnectSession, SendRelaysOutputAndExitsWithTheRemoteStatus) {
  FakeGuestStream guest;
  const std::string all = frame(wire::FrameType::stdout_data, "hi\n") + frame(wire::FrameType::stderr_data, "oops\n") +
                          exit_frame(3);
  // Split mid-header and mid-payload: frames are reassembled across reads.
  guest.chunks = {all.substr(0, 3), all.substr(3, 6), all.substr(9)};
  CapturedOutput output;
  auto result = run_connect_session(guest, send_request("echo hi; echo oops >&2; exit 3"), nullptr, output);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->exit_code, 3);
  EXPECT_EQ(output.out, "hi\n");
  EXPECT_EQ(output.err, "oops\n");
  const auto request = guest.request();
  EXPECT_EQ(request.command, (std::vector<std::string>{"/bin/sh", "-c", "echo hi; echo oops >&2; exit 3"}));
  EXPECT_FALSE(request.tty);
  // No local input: stdin ends right after the request.
  const auto frames = guest.frames();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].type, wire::FrameType::stdin_eof);
}

// connect --user on Windows travels in the request like on Linux; --send keeps it.
TEST(ConnectSession, UserReachesTheRequestForSendAndShell) {
  ConnectCommand c;
  c.user = "1000:1000";
  EXPECT_EQ(connect_request_for(c).user, "1000:1000");
  c.send = "id -u";
  const auto sent = connect_request_for(c);
  EXPECT_EQ(sent.user, "1000:1000");
  EXPECT_EQ(sent.command, (std::vector<std::string>{"/bin/sh", "-c", "id -u"}));
  EXPECT_TRUE(connect_request_for(ConnectCommand{}).user.empty());
}

TEST(ConnectSession, SignalledCommandExitsWith128PlusSignal) {
  FakeGuestStream guest;
  guest.chunks = {frame(wire::FrameType::exit, wire::encode_exit({std::nullopt, 9}))};
  CapturedOutput output;
  auto result = run_connect_session(guest, send_request("kill -9 $$"), nullptr, output);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->exit_code, 137);
}

TEST(ConnectSession, ErrorFramesGoToStderrAndAreKept) {
  FakeGuestStream guest;
  guest.chunks = {frame(wire::FrameType::error, "command not found: nosuch") + exit_frame(127)};
  CapturedOutput output;
  ConnectCommand c;
  c.command = {"nosuch"};
  auto result = run_connect_session(guest, connect_request_for(c), nullptr, output);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->exit_code, 127);
  EXPECT_EQ(result->errors, "command not found: nosuch");
  EXPECT_EQ(output.err, "microagent: command not found: nosuch\n");
}

TEST(ConnectSession, GuestHangingUpMidFrameIsAnError) {
  FakeGuestStream guest;
  const std::string partial = frame(wire::FrameType::stdout_data, "half of it");
  guest.chunks = {frame(wire::FrameType::stdout_data, "first\n"), partial.substr(0, 8)};
  CapturedOutput output;
  auto result = run_connect_session(guest, send_request("true"), nullptr, output);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::host_unavailable);
  EXPECT_NE(result.error().message.find("closed the connect session"), std::string::npos) << result.error().message;
  EXPECT_EQ(output.out, "first\n");
}

TEST(ConnectSession, MalformedFramesEndTheSession) {
  struct Case {
    std::string bytes;
    std::string why;
  };
  for (const auto& c : std::vector<Case>{{std::string("\x7f\0\0\0\0", 5), "unknown frame type"},
                                         {frame(wire::FrameType::stdin_data, "x"), "only the host may send"},
                                         {frame(wire::FrameType::exit, "not json"), "exit frame"},
                                         {std::string("\x81\xff\xff\xff\xff", 5), "exceeds the limit"}}) {
    FakeGuestStream guest;
    guest.chunks = {c.bytes};
    CapturedOutput output;
    auto result = run_connect_session(guest, send_request("true"), nullptr, output);
    ASSERT_FALSE(result) << c.why;
    EXPECT_EQ(result.error().code, ErrorCode::invalid_request) << c.why;
    EXPECT_NE(result.error().message.find(c.why), std::string::npos) << result.error().message;
  }
}

TEST(ConnectSession, SendFailureIsReported) {
  FakeGuestStream guest;
  guest.send_error = Error{ErrorCode::internal, "send on the connect session: reset"};
  CapturedOutput output;
  auto result = run_connect_session(guest, send_request("true"), nullptr, output);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("reset"), std::string::npos);
}

TEST(ConnectSession, LocalInputBecomesStdinResizeAndEofFrames) {
  FakeGuestStream guest;
  guest.echo_stdin = true;
  ScriptedInput input;
  input.items = {{ConnectInput::Kind::bytes, "ls\r", {}},
                 {ConnectInput::Kind::resize, {}, {50, 132}},
                 {ConnectInput::Kind::bytes, std::string("\x03", 1), {}},  // Ctrl-C in raw mode
                 {ConnectInput::Kind::end, {}, {}}};
  ConnectCommand c;
  c.tty = true;
  c.size = {40, 120};
  c.env = {{"TERM", "xterm-256color"}};
  CapturedOutput output;
  auto result = run_connect_session(guest, connect_request_for(c), &input, output);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->exit_code, 0);
  EXPECT_EQ(output.out, std::string("ls\r\x03", 4));
  const auto request = guest.request();
  EXPECT_TRUE(request.tty);
  EXPECT_TRUE(request.command.empty());  // a login shell
  EXPECT_EQ(request.size, (wire::WindowSize{40, 120}));
  EXPECT_EQ(request.env.at("TERM"), "xterm-256color");
  const auto frames = guest.frames();
  ASSERT_EQ(frames.size(), 4u);
  EXPECT_EQ(frames[0].type, wire::FrameType::stdin_data);
  EXPECT_EQ(frames[1].type, wire::FrameType::resize);
  EXPECT_EQ(*wire::decode_resize(frames[1].payload), (wire::WindowSize{50, 132}));
  EXPECT_EQ(frames[2].payload, "\x03");
  EXPECT_EQ(frames[3].type, wire::FrameType::stdin_eof);
}

TEST(ConnectSession, SessionEndsWhileInputIsStillOpen) {
  FakeGuestStream guest;
  guest.chunks = {exit_frame(0)};
  ScriptedInput input;  // never says anything: the pump must still stop
  CapturedOutput output;
  auto result = run_connect_session(guest, send_request("true"), &input, output);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->exit_code, 0);
}

// ---- connect_workspace over a state dir

class ConnectWorkspaceTest : public BackendTest {
 protected:
  GuestConnector connector_to(FakeGuestStream*& made) {
    return [this, &made](const std::string& vm, std::uint32_t port) -> Result<std::unique_ptr<GuestStream>> {
      connected.emplace_back(vm, port);
      auto stream = std::make_unique<FakeGuestStream>();
      stream->chunks = {frame(wire::FrameType::stdout_data, "from guest\n") + exit_frame(7)};
      made = stream.get();
      return std::unique_ptr<GuestStream>(std::move(stream));
    };
  }
  ConnectCommand send_true() {
    ConnectCommand c;
    c.send = "true";
    return c;
  }
  std::vector<std::pair<std::string, std::uint32_t>> connected;
  CapturedOutput output;
};

TEST_F(ConnectWorkspaceTest, StartRecordsTheRuntimeIdAndConnectUsesIt) {
  ASSERT_EQ(send("start").exit_code, 0);
  const std::string vm = runtime()["vmRuntimeId"];
  EXPECT_FALSE(vm.empty());
  auto target = connect_target(state, "ws1");
  ASSERT_TRUE(target) << target.error().message;
  EXPECT_EQ(target->vm_runtime_id, vm);
  EXPECT_EQ(target->compute_system_id, "microagent-ws1");
  FakeGuestStream* made = nullptr;
  auto code = connect_workspace(state, "ws1", send_true(), connector_to(made), nullptr, output);
  ASSERT_TRUE(code) << code.error().message;
  EXPECT_EQ(*code, 7);
  EXPECT_EQ(output.out, "from guest\n");
  ASSERT_EQ(connected.size(), 1u);
  EXPECT_EQ(connected[0], std::make_pair(vm, std::uint32_t{1025}));
  ASSERT_NE(made, nullptr);
}

TEST_F(ConnectWorkspaceTest, StartFailsWhenHcsHasNoRuntimeId) {
  host.failures["vm_runtime_id"] = Error{ErrorCode::internal, "HCS reported no RuntimeId"};
  const auto response = send("start");
  EXPECT_NE(response.exit_code, 0);
  EXPECT_TRUE(host.endpoints.empty());
  EXPECT_TRUE(host.open_handles.empty());
}

TEST_F(ConnectWorkspaceTest, MissingWorkspaceIsNotFound) {
  FakeGuestStream* made = nullptr;
  auto code = connect_workspace(state, "nope", send_true(), connector_to(made), nullptr, output);
  ASSERT_FALSE(code);
  EXPECT_EQ(code.error().code, ErrorCode::not_found);
  EXPECT_TRUE(connected.empty());
}

TEST_F(ConnectWorkspaceTest, BadNameIsInvalid) {
  FakeGuestStream* made = nullptr;
  for (const std::string name : {"../etc", "", "UPPER"}) {
    auto code = connect_workspace(state, name, send_true(), connector_to(made), nullptr, output);
    ASSERT_FALSE(code) << name;
    EXPECT_EQ(code.error().code, ErrorCode::invalid_request) << name;
  }
}

TEST_F(ConnectWorkspaceTest, NotRunningIsAConflictThatSaysStart) {
  ASSERT_EQ(send("prepare").exit_code, 0);
  FakeGuestStream* made = nullptr;
  auto code = connect_workspace(state, "ws1", send_true(), connector_to(made), nullptr, output);
  ASSERT_FALSE(code);
  EXPECT_EQ(code.error().code, ErrorCode::conflict);
  EXPECT_NE(code.error().message.find("start it first"), std::string::npos);
  // Started, then stopped: the recorded RuntimeId is stale.
  ASSERT_EQ(send("start").exit_code, 0);
  ASSERT_EQ(send("stop").exit_code, 0);
  code = connect_workspace(state, "ws1", send_true(), connector_to(made), nullptr, output);
  ASSERT_FALSE(code);
  EXPECT_EQ(code.error().code, ErrorCode::conflict);
  EXPECT_TRUE(connected.empty());
}

TEST_F(ConnectWorkspaceTest, RefusedConnectionIsAConflictNamingTheGuest) {
  ASSERT_EQ(send("start").exit_code, 0);
  GuestConnector refusing = [](const std::string&, std::uint32_t) -> Result<std::unique_ptr<GuestStream>> {
    return fail(ErrorCode::internal, "connect to guest port 1025: No connection could be made (10061)");
  };
  auto code = connect_workspace(state, "ws1", send_true(), refusing, nullptr, output);
  ASSERT_FALSE(code);
  EXPECT_EQ(code.error().code, ErrorCode::conflict);
  EXPECT_NE(code.error().message.find("does not accept connect sessions"), std::string::npos);
  EXPECT_NE(code.error().message.find("10061"), std::string::npos);
}

TEST_F(ConnectWorkspaceTest, SendRequestNeverAsksForATerminal) {
  ConnectCommand c;
  c.send = "uname -a";
  c.tty = true;  // even from a console
  const auto request = connect_request_for(c);
  EXPECT_FALSE(request.tty);
  EXPECT_EQ(request.command, (std::vector<std::string>{"/bin/sh", "-c", "uname -a"}));
}

}  // namespace
}  // namespace microagent::windows_hyperv::testing
