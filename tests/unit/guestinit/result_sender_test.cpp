#include "guestinit/result_sender.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "common/unique_fd.hpp"

namespace microagent::guestinit {
namespace {

struct SocketPair {
  UniqueFd guest, host;
};

SocketPair socket_pair() {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// The host end: read to EOF (the guest's SHUT_WR), then close as the acknowledgement.
std::string host_reads_then_closes(UniqueFd host) {
  std::string got;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(host.get(), buffer, sizeof buffer)) > 0) got.append(buffer, static_cast<std::size_t>(n));
  return got;
}

TEST(ResultSender, DeliversTheWholePayloadAndWaitsForTheAck) {
  auto pair = socket_pair();
  const std::string payload(1 << 20, 'r');  // larger than a socket buffer
  std::string received;
  std::thread host([&] { received = host_reads_then_closes(std::move(pair.host)); });
  auto sent = deliver_over_stream(pair.guest.get(), payload, 5000);
  host.join();
  ASSERT_TRUE(sent.has_value()) << sent.error().message;
  EXPECT_EQ(received, payload);
}

TEST(ResultSender, AHostThatNeverAcknowledgesCannotHangTheGuest) {
  auto pair = socket_pair();
  const auto start = std::chrono::steady_clock::now();
  auto sent = deliver_over_stream(pair.guest.get(), "{}", 300);
  ASSERT_FALSE(sent.has_value());
  EXPECT_EQ(sent.error().code, ErrorCode::host_unavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(ResultSender, AHostThatNeverReadsCannotHangTheGuest) {
  auto pair = socket_pair();
  const std::string payload(8 << 20, 'r');  // far beyond the socket buffers
  auto sent = deliver_over_stream(pair.guest.get(), payload, 300);
  ASSERT_FALSE(sent.has_value());
  EXPECT_EQ(sent.error().code, ErrorCode::host_unavailable);
}

TEST(ResultSender, NoVsockHostFailsWithinTheRetryBudget) {
  // On a host this fails one of several ways (no AF_VSOCK, no transport, no
  // listener); what matters is a bounded, explained failure.
  const auto start = std::chrono::steady_clock::now();
  auto sent = send_result(kResultPort, "{}", DeliveryOptions{.connect_attempts = 3, .retry_delay_ms = 10,
                                                             .connect_timeout_ms = 200, .io_timeout_ms = 200});
  if (sent) GTEST_SKIP() << "something on this machine accepted vsock port 1024 on CID 2";
  EXPECT_EQ(sent.error().code, ErrorCode::host_unavailable);
  EXPECT_NE(sent.error().message.find("vsock connect to CID 2 port 1024"), std::string::npos) << sent.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

}  // namespace
}  // namespace microagent::guestinit
