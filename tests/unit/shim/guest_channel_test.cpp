// The host end of a guest-initiated channel (result 1024, control 1026) over
// real Unix sockets, as the vsock device reaches it: one connection per boot,
// later ones refused, never a blocking read, a bounded size.
#include "shim/guest_channel.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "common/unique_fd.hpp"
#include "shim/hybrid_vsock.hpp"

namespace microagent::shim {
namespace {

using Phase = GuestChannel::Phase;
using Clock = std::chrono::steady_clock;

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/guest-channel-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::filesystem::path path;
};

// What the vsock device does for a guest connection to port P: connect to <uds>_P.
UniqueFd device_connect(const std::filesystem::path& socket_path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return {};
  return fd;
}

bool readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) > 0;
}

void write_text(int fd, const std::string& text) {
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
}

class GuestChannelTest : public ::testing::Test {
 protected:
  std::filesystem::path uds() const { return dir.path / "vsock.sock"; }
  std::filesystem::path port_path() const { return guest_port_socket(uds(), 1024); }
  GuestChannel listen(std::size_t max_bytes = 1 << 20) {
    auto channel = GuestChannel::listen(uds(), 1024, max_bytes);
    EXPECT_TRUE(channel) << channel.error().message;
    return std::move(*channel);
  }
  TempDir dir;
};

TEST_F(GuestChannelTest, TheFirstConnectionIsTheOnlyOneAndLaterOnesAreRefused) {
  GuestChannel channel = listen();
  EXPECT_EQ(channel.phase(), Phase::listening);
  UniqueFd first = device_connect(port_path());
  ASSERT_TRUE(first);
  ASSERT_TRUE(readable(channel.poll_fd(), 2000));
  channel.on_readable();
  EXPECT_EQ(channel.phase(), Phase::connected);
  EXPECT_EQ(channel.listener_fd(), -1);
  EXPECT_FALSE(std::filesystem::exists(port_path())) << "the listener's socket file outlived the one connection";
  // A second connector (a workload squatting the port) is refused, not queued.
  EXPECT_FALSE(device_connect(port_path()));

  write_text(first.get(), "{\"exitCode\":0}");
  ::shutdown(first.get(), SHUT_WR);
  ASSERT_TRUE(readable(channel.poll_fd(), 2000));
  channel.on_readable();
  ASSERT_EQ(channel.phase(), Phase::complete);
  EXPECT_EQ(channel.received(), "{\"exitCode\":0}");
  EXPECT_EQ(channel.poll_fd(), -1);
  // Our close is the guest's acknowledgement: it reads EOF.
  char c;
  EXPECT_EQ(::read(first.get(), &c, 1), 0);
}

TEST_F(GuestChannelTest, ASilentConnectorNeverBlocksTheReader) {
  GuestChannel channel = listen();
  UniqueFd silent = device_connect(port_path());
  ASSERT_TRUE(silent);
  ASSERT_TRUE(readable(channel.poll_fd(), 2000));
  const auto started = Clock::now();
  for (int i = 0; i < 3; ++i) channel.on_readable();  // accept, then nothing to read
  EXPECT_LT(Clock::now() - started, std::chrono::milliseconds(100));
  EXPECT_EQ(channel.phase(), Phase::connected);
  EXPECT_FALSE(readable(channel.poll_fd(), 50));
  EXPECT_TRUE(channel.received().empty());
}

TEST_F(GuestChannelTest, DataArrivingInPiecesIsKeptUntilEof) {
  GuestChannel channel = listen();
  UniqueFd guest = device_connect(port_path());
  ASSERT_TRUE(guest);
  ASSERT_TRUE(readable(channel.poll_fd(), 2000));
  channel.on_readable();
  for (const char* piece : {"{\"event\":\"guestReady\"}\n", "{\"event\":\"shell"}) {
    write_text(guest.get(), piece);
    ASSERT_TRUE(readable(channel.poll_fd(), 2000));
    channel.on_readable();
  }
  EXPECT_EQ(channel.phase(), Phase::connected);
  EXPECT_EQ(channel.received(), "{\"event\":\"guestReady\"}\n{\"event\":\"shell");
  channel.received().erase(0, channel.received().find('\n') + 1);  // a line reader consumed one line
  guest.reset();
  ASSERT_TRUE(readable(channel.poll_fd(), 2000));
  channel.on_readable();
  EXPECT_EQ(channel.phase(), Phase::complete);
  EXPECT_EQ(channel.received(), "{\"event\":\"shell");
}

TEST_F(GuestChannelTest, MoreThanTheBoundFailsAndClosesTheStream) {
  GuestChannel channel = listen(/*max_bytes=*/100);
  UniqueFd guest = device_connect(port_path());
  ASSERT_TRUE(guest);
  ASSERT_TRUE(readable(channel.poll_fd(), 2000));
  channel.on_readable();
  write_text(guest.get(), std::string(60, 'a'));
  ASSERT_TRUE(readable(channel.poll_fd(), 2000));
  channel.on_readable();
  channel.received().clear();  // erasing what was read does not reset the bound
  write_text(guest.get(), std::string(60, 'b'));
  ASSERT_TRUE(readable(channel.poll_fd(), 2000));
  channel.on_readable();
  EXPECT_EQ(channel.phase(), Phase::failed);
  EXPECT_NE(channel.error().find("100 bytes"), std::string::npos) << channel.error();
  EXPECT_EQ(channel.poll_fd(), -1);
}

TEST_F(GuestChannelTest, CloseBeforeAnyConnectionUnlinksTheListener) {
  GuestChannel channel = listen();
  ASSERT_TRUE(std::filesystem::exists(port_path()));
  channel.close();
  EXPECT_EQ(channel.phase(), Phase::closed);
  EXPECT_EQ(channel.poll_fd(), -1);
  EXPECT_FALSE(std::filesystem::exists(port_path()));
  EXPECT_FALSE(device_connect(port_path()));
}

TEST_F(GuestChannelTest, AWakeUpWithNothingToAcceptKeepsListening) {
  GuestChannel channel = listen();
  channel.on_readable();  // the listener is non-blocking: EAGAIN, not a hang
  EXPECT_EQ(channel.phase(), Phase::listening);
  EXPECT_TRUE(std::filesystem::exists(port_path()));
}

}  // namespace
}  // namespace microagent::shim
