// The Hyper-V connect session (connect_session.hpp) against the real guest
// side: guest init's serve_connect_session on the other end of a socketpair,
// the same code that answers on vsock 1025 inside every guest. The Hyper-V
// transport differs; the bytes do not.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "common/connect_session.hpp"
#include "backends/windows_hyperv/workspace_connect.hpp"
#include "common/fd_io.hpp"
#include "common/unique_fd.hpp"
#include "guestinit/connect_server.hpp"

namespace microagent::windows_hyperv {
namespace {

class SocketStream : public GuestStream {
 public:
  explicit SocketStream(int fd) : fd_(fd) {}
  Result<void> send(std::string_view bytes) override {
    if (!send_fully(fd_, bytes)) return fail(ErrorCode::internal, "send failed");
    return {};
  }
  Result<std::string> receive() override {
    char buffer[65536];
    const ssize_t n = ::read(fd_, buffer, sizeof buffer);
    if (n < 0) return fail(ErrorCode::internal, "read failed");
    return std::string(buffer, static_cast<std::size_t>(n));
  }

 private:
  int fd_;
};

// Written by the session's thread, read by the input thread's gate.
struct Captured : ConnectOutput {
  void write_stdout(std::string_view bytes) override {
    std::lock_guard lock(mutex);
    out += bytes;
  }
  void write_stderr(std::string_view bytes) override {
    std::lock_guard lock(mutex);
    err += bytes;
  }
  bool saw(std::string_view text) {
    std::lock_guard lock(mutex);
    return out.find(text) != std::string::npos;
  }
  std::mutex mutex;
  std::string out, err;
};

// Hands out its items once `gate` (when set) says so.
struct Script : ConnectInputSource {
  std::deque<ConnectInput> items;
  std::function<bool()> gate;
  std::optional<ConnectInput> next(std::chrono::milliseconds wait) override {
    if (items.empty() || (gate && !gate())) {
      std::this_thread::sleep_for(std::min(wait, std::chrono::milliseconds(10)));
      return std::nullopt;
    }
    auto item = items.front();
    items.pop_front();
    return item;
  }
};

Result<ConnectSessionResult> session_with_guest(const connect_wire::ConnectRequest& request, ConnectInputSource* input,
                                                Captured& output) {
  int pair[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  UniqueFd host(pair[0]), guest(pair[1]);
  std::thread server([&] { guestinit::serve_connect_session(guest.get()); });
  SocketStream stream(host.get());
  auto result = run_connect_session(stream, request, input, output);
  host.reset();  // the host hangs up, as the CLI does when it exits
  server.join();
  return result;
}

TEST(ConnectSessionWithGuestInit, SendRelaysOutputAndTheExitCode) {
  ConnectCommand command;
  command.send = "echo out; echo err >&2; exit 5";
  Captured output;
  auto result = session_with_guest(connect_request_for(command), nullptr, output);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->exit_code, 5);
  EXPECT_EQ(output.out, "out\n");
  EXPECT_EQ(output.err, "err\n");
}

TEST(ConnectSessionWithGuestInit, PipedInputReachesTheCommand) {
  ConnectCommand command;
  command.command = {"/bin/sh", "-c", "tr a-z A-Z"};
  Script input;
  input.items = {{ConnectInput::Kind::bytes, "hello ", {}}, {ConnectInput::Kind::bytes, "guest\n", {}},
                 {ConnectInput::Kind::end, {}, {}}};
  Captured output;
  auto result = session_with_guest(connect_request_for(command), &input, output);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->exit_code, 0);
  EXPECT_EQ(output.out, "HELLO GUEST\n");
}

TEST(ConnectSessionWithGuestInit, TtySessionGetsTheConsoleSizeAndCtrlC) {
  ConnectCommand command;
  command.tty = true;
  command.size = {33, 77};
  command.env = {{"TERM", "xterm-256color"}};
  // Prints the size, then waits on input; Ctrl-C (0x03) on the PTY interrupts it.
  command.command = {"/bin/sh", "-c", "stty size; echo $TERM; read line; echo never"};
  Script input;
  input.items = {{ConnectInput::Kind::bytes, std::string("\x03", 1), {}}};
  Captured output;
  input.gate = [&] { return output.saw("xterm-256color"); };
  auto result = session_with_guest(connect_request_for(command), &input, output);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_NE(output.out.find("33 77"), std::string::npos) << output.out;
  EXPECT_NE(output.out.find("xterm-256color"), std::string::npos) << output.out;
  EXPECT_EQ(output.out.find("never"), std::string::npos) << output.out;
  EXPECT_EQ(result->exit_code, 130);  // 128 + SIGINT
}

TEST(ConnectSessionWithGuestInit, UnknownCommandIsAnErrorFrame) {
  ConnectCommand command;
  command.command = {"/no/such/program"};
  Captured output;
  auto result = session_with_guest(connect_request_for(command), nullptr, output);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_NE(result->exit_code, 0);
  EXPECT_FALSE(result->errors.empty());
  EXPECT_NE(output.err.find("microagent: "), std::string::npos);
}

}  // namespace
}  // namespace microagent::windows_hyperv
