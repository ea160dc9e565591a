#include "common/stream_relay.hpp"

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "common/unique_fd.hpp"

namespace microagent {
namespace {

struct Pair {
  UniqueFd outer, inner;  // outer: the test's end; inner: given to the relay
  Pair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    outer = UniqueFd(fds[0]);
    inner = UniqueFd(fds[1]);
  }
};

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 31 + i / 977) & 0xff);
  return s;
}

void write_all(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    ASSERT_GT(n, 0);
    done += static_cast<std::size_t>(n);
  }
}

std::string read_all(int fd) {
  std::string out;
  char buf[8192];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  return out;
}

// Client -> relay -> server echoes (reads to EOF, then writes back and closes).
TEST(StreamRelay, MovesMegabytesBothWaysWithHalfClose) {
  Pair client, server;
  RelayStats stats;
  std::thread relay([&] { stats = relay_streams(client.inner.get(), server.inner.get()); });
  const std::string up = pattern(3 << 20), down = pattern(1 << 20) + "tail";
  std::string server_got, client_got;
  std::thread server_side([&] {
    server_got = read_all(server.outer.get());  // EOF arrives only after the client's half-close crossed
    write_all(server.outer.get(), down);
    ::shutdown(server.outer.get(), SHUT_WR);
  });
  write_all(client.outer.get(), up);
  ::shutdown(client.outer.get(), SHUT_WR);
  client_got = read_all(client.outer.get());
  server_side.join();
  relay.join();
  EXPECT_TRUE(server_got == up) << server_got.size();
  EXPECT_TRUE(client_got == down) << client_got.size();
  EXPECT_EQ(stats.a_to_b, up.size());
  EXPECT_EQ(stats.b_to_a, down.size());
  EXPECT_EQ(stats.error, 0);
  EXPECT_FALSE(stats.stopped);
}

TEST(StreamRelay, StopFdCutsBothSides) {
  Pair a, b;
  UniqueFd stop(::eventfd(0, EFD_CLOEXEC));
  RelayStats stats;
  std::thread relay([&] { stats = relay_streams(a.inner.get(), b.inner.get(), stop.get()); });
  write_all(a.outer.get(), "hello");
  char buf[5];
  ASSERT_EQ(::read(b.outer.get(), buf, 5), 5);
  const std::uint64_t one = 1;
  ASSERT_EQ(::write(stop.get(), &one, sizeof one), 8);
  relay.join();
  EXPECT_TRUE(stats.stopped);
  EXPECT_EQ(read_all(a.outer.get()), "");  // shut down: EOF for the client
  EXPECT_EQ(read_all(b.outer.get()), "");
}

TEST(StreamRelay, PeerThatVanishesEndsTheRelay) {
  Pair a, b;
  RelayStats stats;
  std::thread relay([&] { stats = relay_streams(a.inner.get(), b.inner.get()); });
  b.outer.reset();  // the far side is gone without a word
  write_all(a.outer.get(), pattern(1 << 20).substr(0, 4096));
  ::shutdown(a.outer.get(), SHUT_WR);
  relay.join();
  EXPECT_EQ(read_all(a.outer.get()), "");
}

}  // namespace
}  // namespace microagent
