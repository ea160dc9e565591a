#include "backends/linux_kvm/vsock/virtio_vsock_spec.hpp"

#include <gtest/gtest.h>

#include <array>

#include "backends/linux_kvm/vsock/vsock_connection.hpp"

namespace microagent::linux_kvm {
namespace {

using vsock_spec::Op;
using vsock_spec::PacketHeader;

TEST(VirtioVsockSpec, HeaderRoundTripsAndMatchesWireOffsets) {
  struct Case {
    PacketHeader h;
  };
  const Case cases[] = {
      {{3, 2, 1234, 1024, 0, vsock_spec::Type::stream, Op::request, 0, 262144, 0}},
      {{2, 3, 1u << 30, 5000, 4096, vsock_spec::Type::stream, Op::rw, 0, 65536, 12345}},
      {{3, 2, 1, 2, 0, vsock_spec::Type::stream, Op::shutdown, vsock_spec::kShutdownRcv | vsock_spec::kShutdownSend,
        0, 0xffffffffu}},
      {{0xffffffffffffffffull, 0, 0xffffffffu, 0, 0, vsock_spec::Type::seqpacket, Op::credit_request, 0, 0, 0}},
  };
  for (const auto& c : cases) {
    std::array<std::uint8_t, vsock_spec::kHeaderSize> raw{};
    vsock_spec::encode_header(c.h, raw);
    auto back = vsock_spec::decode_header(raw);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, c.h);
    // Spot-check the layout of virtio 1.2 5.10.6: len at 24, op at 30, fwd_cnt at 40.
    std::uint32_t len;
    std::uint16_t op;
    std::uint32_t fwd;
    std::memcpy(&len, raw.data() + 24, 4);
    std::memcpy(&op, raw.data() + 30, 2);
    std::memcpy(&fwd, raw.data() + 40, 4);
    EXPECT_EQ(len, c.h.len);
    EXPECT_EQ(op, static_cast<std::uint16_t>(c.h.op));
    EXPECT_EQ(fwd, c.h.fwd_cnt);
  }
}

TEST(VirtioVsockSpec, DecodeRejectsShortBuffer) {
  std::array<std::uint8_t, vsock_spec::kHeaderSize - 1> raw{};
  EXPECT_FALSE(vsock_spec::decode_header(raw));
}

TEST(HybridConnectLine, ParsesPortsAndRejectsGarbage) {
  struct Case {
    const char* line;
    std::optional<std::uint32_t> port;
  };
  const Case cases[] = {
      {"CONNECT 1024", 1024},
      {"CONNECT 0", 0},
      {"CONNECT 4294967295", 4294967295u},
      {"CONNECT 52\r", 52},
      {"CONNECT 4294967296", std::nullopt},
      {"CONNECT ", std::nullopt},
      {"CONNECT -1", std::nullopt},
      {"CONNECT 12a", std::nullopt},
      {"connect 12", std::nullopt},
      {"CONNECT  12", std::nullopt},
      {"", std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(parse_connect_line(c.line), c.port) << c.line;
}

TEST(VsockConnectionCredit, PeerCreditWrapsAndOverrunIsRefused) {
  VsockConnection conn(1, UniqueFd{}, ConnectionState::established);
  PacketHeader h;
  h.buf_alloc = 1000;
  h.fwd_cnt = 0xfffffff0u;  // counters are free-running u32
  conn.note_peer_credit(h);
  conn.count_sent_to_guest(0xfffffff0u);
  EXPECT_EQ(conn.peer_credit(), 1000u);
  conn.count_sent_to_guest(0x20);  // wraps past zero
  EXPECT_EQ(conn.peer_credit(), 1000u - 0x20);
  conn.count_sent_to_guest(2000);
  EXPECT_EQ(conn.peer_credit(), 0u);

  std::vector<std::uint8_t> big(VsockConnection::kBufAlloc);
  EXPECT_TRUE(conn.accept_from_guest(big));
  std::uint8_t one = 1;
  EXPECT_FALSE(conn.accept_from_guest(std::span(&one, 1)));
}

}  // namespace
}  // namespace microagent::linux_kvm
