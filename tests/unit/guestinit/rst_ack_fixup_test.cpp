// The guest's RST-ACK XDP fixup, run on the host kernel with BPF_PROG_TEST_RUN
// (the verifier and the interpreter/JIT are the real ones the guest uses).
#include "guestinit/rst_ack_fixup.hpp"

#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "common/unique_fd.hpp"

namespace microagent::guestinit {
namespace {

using Frame = std::vector<std::uint8_t>;

std::uint16_t fold(std::uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xffff);
}

std::uint32_t sum_words(const std::uint8_t* p, std::size_t n, std::uint32_t sum = 0) {
  for (std::size_t i = 0; i + 1 < n; i += 2) sum += (p[i] << 8) | p[i + 1];
  if (n % 2) sum += p[n - 1] << 8;
  return sum;
}

// TCP checksum over the IPv4 pseudo-header and the segment at `tcp` (its
// checksum field included: 0 for a correct segment once folded).
std::uint16_t tcp_checksum(const Frame& f, std::size_t ip, std::size_t tcp) {
  const std::size_t len = f.size() - tcp;
  std::uint32_t sum = sum_words(&f[ip + 12], 8);  // source and destination
  sum += 6 + static_cast<std::uint32_t>(len);
  return fold(sum_words(&f[tcp], len, sum));
}

// Ethernet + IPv4 (`ihl` words) + TCP with `flags`, checksummed.
Frame tcp_frame(std::uint8_t flags, int ihl = 5) {
  Frame f(14 + ihl * 4 + 20, 0);
  f[12] = 0x08;
  f[13] = 0x00;
  const std::size_t ip = 14, tcp = 14 + ihl * 4;
  f[ip] = static_cast<std::uint8_t>(0x40 | ihl);
  f[ip + 2] = 0;
  f[ip + 3] = static_cast<std::uint8_t>(ihl * 4 + 20);
  f[ip + 6] = 0x40;  // DF
  f[ip + 8] = 64;
  f[ip + 9] = 6;
  const std::uint8_t addrs[8] = {10, 0, 2, 2, 10, 0, 2, 15};
  std::memcpy(&f[ip + 12], addrs, 8);
  f[tcp] = 0x1f;  // port 8080 -> 40000
  f[tcp + 1] = 0x90;
  f[tcp + 2] = 0x9c;
  f[tcp + 3] = 0x40;
  f[tcp + 4] = 0x12;  // seq
  f[tcp + 7] = 0x34;
  f[tcp + 8] = 0xab;  // ack_seq: the guest's ISN + 1
  f[tcp + 11] = 0xcd;
  f[tcp + 12] = 0x50;
  f[tcp + 13] = flags;
  f[tcp + 14] = 0xff;  // window
  const std::uint16_t c = tcp_checksum(f, ip, tcp);
  f[tcp + 16] = static_cast<std::uint8_t>(c >> 8);
  f[tcp + 17] = static_cast<std::uint8_t>(c);
  return f;
}

class RstAckFixup : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto program = rst_ack_fixup_program();
    static const char license[] = "GPL";
    bpf_attr attr{};
    attr.prog_type = BPF_PROG_TYPE_XDP;
    attr.insns = reinterpret_cast<std::uint64_t>(program.data());
    attr.insn_cnt = static_cast<std::uint32_t>(program.size());
    attr.license = reinterpret_cast<std::uint64_t>(license);
    attr.log_buf = reinterpret_cast<std::uint64_t>(log_);
    attr.log_size = sizeof log_;
    attr.log_level = 1;
    prog_ = UniqueFd(static_cast<int>(::syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr)));
    if (!prog_ && (errno == EPERM || errno == ENOSYS)) GTEST_SKIP() << "this host cannot load BPF programs: " << std::strerror(errno);
    ASSERT_TRUE(prog_) << "the verifier refused the program: " << std::strerror(errno) << "\n" << log_;
  }
  // Runs the program on `in`; the frame it passes on.
  Frame run(const Frame& in) {
    Frame out(in.size() + 256);
    bpf_attr attr{};
    attr.test.prog_fd = static_cast<std::uint32_t>(prog_.get());
    attr.test.data_in = reinterpret_cast<std::uint64_t>(in.data());
    attr.test.data_size_in = static_cast<std::uint32_t>(in.size());
    attr.test.data_out = reinterpret_cast<std::uint64_t>(out.data());
    attr.test.data_size_out = static_cast<std::uint32_t>(out.size());
    attr.test.repeat = 1;
    EXPECT_EQ(::syscall(SYS_bpf, BPF_PROG_TEST_RUN, &attr, sizeof attr), 0) << std::strerror(errno);
    EXPECT_EQ(attr.test.retval, static_cast<std::uint32_t>(XDP_PASS));
    out.resize(attr.test.data_size_out);
    return out;
  }
  UniqueFd prog_;
  char log_[8192] = {};
};

TEST_F(RstAckFixup, BareRstGetsAckAndAStillValidChecksum) {
  const Frame rst = tcp_frame(0x04);
  ASSERT_EQ(tcp_checksum(rst, 14, 34), 0);
  const Frame out = run(rst);
  ASSERT_EQ(out.size(), rst.size());
  EXPECT_EQ(out[34 + 13], 0x14) << "RST|ACK";
  EXPECT_EQ(tcp_checksum(out, 14, 34), 0) << "the checksum must still verify";
  Frame rest = out;
  rest[34 + 13] = 0x04;
  rest[34 + 16] = rst[34 + 16];
  rest[34 + 17] = rst[34 + 17];
  EXPECT_EQ(rest, rst) << "nothing else may change";
}

TEST_F(RstAckFixup, ChecksumCarryWrapsCorrectly) {
  // Search a segment whose checksum field is near the wrap-around points.
  for (std::uint8_t seq = 0; seq < 255; ++seq) {
    Frame rst = tcp_frame(0x04);
    rst[34 + 5] = seq;
    rst[34 + 16] = rst[34 + 17] = 0;
    const std::uint16_t c = tcp_checksum(rst, 14, 34);
    rst[34 + 16] = static_cast<std::uint8_t>(c >> 8);
    rst[34 + 17] = static_cast<std::uint8_t>(c);
    const Frame out = run(rst);
    ASSERT_EQ(tcp_checksum(out, 14, 34), 0) << "seq byte " << int(seq);
  }
}

TEST_F(RstAckFixup, EverythingElsePassesUntouched) {
  for (std::uint8_t flags : {0x14, 0x02, 0x12, 0x10, 0x11, 0x18}) {
    const Frame f = tcp_frame(flags);
    EXPECT_EQ(run(f), f) << "flags " << int(flags);
  }
  const Frame with_options = tcp_frame(0x04, 6);
  EXPECT_EQ(run(with_options), with_options) << "IP options: not ours to parse";
  Frame udp = tcp_frame(0x04);
  udp[14 + 9] = 17;
  EXPECT_EQ(run(udp), udp);
  Frame fragment = tcp_frame(0x04);
  fragment[14 + 7] = 8;  // offset 64 bytes: no TCP header here
  EXPECT_EQ(run(fragment), fragment);
  Frame ipv6 = tcp_frame(0x04);
  ipv6[12] = 0x86;
  ipv6[13] = 0xdd;
  EXPECT_EQ(run(ipv6), ipv6);
  const Frame full = tcp_frame(0x04);
  const Frame shorter(full.begin(), full.begin() + 40);
  EXPECT_EQ(run(shorter), shorter);
}

}  // namespace
}  // namespace microagent::guestinit
