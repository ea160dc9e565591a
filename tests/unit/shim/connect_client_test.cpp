// The host's connect client against the guest's connect server, over a socketpair.
#include "shim/connect_client.hpp"

#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include <gtest/gtest.h>

#include "common/unique_fd.hpp"
#include "guestinit/connect_server.hpp"

namespace microagent::shim {
namespace {

namespace wire = connect_wire;
using namespace std::chrono_literals;

std::string slurp(int fd) {
  std::string out;
  char buffer[4096];
  ::lseek(fd, 0, SEEK_SET);
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0) out.append(buffer, static_cast<std::size_t>(n));
  return out;
}

// Runs one session: the server in a thread, the client here. stdin gets `input`
// (then EOF) through a pipe fed by `feed` when given.
struct Session {
  Result<int> code = 0;
  std::string out, err;
  ConnectIo io;

  Session(const wire::ConnectRequest& request, std::function<void(int)> feed, int terminal_fd = -1) {
    int pair[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    UniqueFd host(pair[0]), guest(pair[1]);
    std::thread server([&] { guestinit::serve_connect_session(guest.get()); });
    int in[2];
    EXPECT_EQ(::pipe2(in, O_CLOEXEC), 0);
    UniqueFd in_read(in[0]);
    UniqueFd in_write(in[1]);
    std::thread feeder([&] {
      if (feed) feed(in_write.get());
      in_write.reset();
    });
    UniqueFd out_file(::open("/tmp", O_TMPFILE | O_RDWR, 0600)), err_file(::open("/tmp", O_TMPFILE | O_RDWR, 0600));
    io.stdin_fd = feed ? in_read.get() : -1;
    io.stdout_fd = out_file.get();
    io.stderr_fd = err_file.get();
    io.terminal_fd = terminal_fd;
    code = run_connect_session(host.get(), request, io);
    host.reset();
    feeder.join();
    server.join();
    out = slurp(out_file.get());
    err = slurp(err_file.get());
  }
};

wire::ConnectRequest send_request(const std::string& script) {
  wire::ConnectRequest r;
  r.command = {"/bin/sh", "-c", script};
  return r;
}

void write_text(int fd, std::string_view text) { ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size())); }

TEST(ConnectClient, SendPrintsOutputOnMatchingStreamsAndReturnsTheExitCode) {
  Session s(send_request("echo hi; echo warn >&2; exit 7"), nullptr);
  ASSERT_TRUE(s.code) << s.code.error().message;
  EXPECT_EQ(*s.code, 7);
  EXPECT_EQ(s.out, "hi\n");
  EXPECT_EQ(s.err, "warn\n");
}

TEST(ConnectClient, StdinIsForwardedThenClosed) {
  Session s(send_request("tr a-z A-Z"), [](int fd) { write_text(fd, "hello\n"); });
  ASSERT_TRUE(s.code);
  EXPECT_EQ(*s.code, 0);
  EXPECT_EQ(s.out, "HELLO\n");
}

TEST(ConnectClient, ASignalBecomes128PlusSignal) {
  Session s(send_request("kill -9 $$"), nullptr);
  ASSERT_TRUE(s.code);
  EXPECT_EQ(*s.code, 128 + 9);
}

TEST(ConnectClient, GuestErrorsAreShownAndCollected) {
  wire::ConnectRequest r;
  r.command = {"no-such-command-xyz"};
  Session s(r, nullptr);
  ASSERT_TRUE(s.code);
  EXPECT_EQ(*s.code, 127);
  EXPECT_NE(s.io.errors.find("command not found"), std::string::npos);
  EXPECT_NE(s.err.find("microagent: command not found: no-such-command-xyz"), std::string::npos) << s.err;
}

TEST(ConnectClient, TtySessionSendsResizeOnSigwinch) {
  int master = -1, slave = -1;
  winsize local{50, 120, 0, 0};
  ASSERT_EQ(::openpty(&master, &slave, nullptr, nullptr, &local), 0);
  UniqueFd master_fd(master), slave_fd(slave);
  wire::ConnectRequest r;
  r.tty = true;
  r.command = {"sh"};
  r.size = {33, 91};
  Session s(r, [](int fd) {
    write_text(fd, "stty size\n");
    std::this_thread::sleep_for(300ms);
    ::kill(::getpid(), SIGWINCH);
    std::this_thread::sleep_for(300ms);
    write_text(fd, "stty size; exit 4\n");
  }, slave_fd.get());
  ASSERT_TRUE(s.code) << s.code.error().message;
  EXPECT_EQ(*s.code, 4);
  EXPECT_NE(s.out.find("33 91"), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("50 120"), std::string::npos) << s.out;
}

TEST(ConnectClient, AStreamThatEndsEarlyIsAnError) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  UniqueFd host(pair[0]);
  ::close(pair[1]);
  ConnectIo io;
  io.stdin_fd = -1;
  auto code = run_connect_session(host.get(), send_request("true"), io);
  EXPECT_FALSE(code);
}

}  // namespace
}  // namespace microagent::shim
