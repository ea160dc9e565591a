#include "guestinit/rst_ack_fixup.hpp"

#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "common/unique_fd.hpp"

namespace microagent::guestinit {
namespace {

// Frame offsets with a 14-byte Ethernet header and a 20-byte IPv4 header (passt
// never sends IP options; frames with them are passed on untouched).
constexpr short kEtherType = 12;
constexpr short kVersionIhl = 14;
constexpr short kFragment = 20;
constexpr short kProtocol = 23;
constexpr short kTcpFlags = 14 + 20 + 13;
constexpr short kTcpChecksum = 14 + 20 + 16;
constexpr int kFrameNeeded = 14 + 20 + 18;
constexpr int kTcpRst = 0x04;
constexpr int kTcpAck = 0x10;

bpf_insn insn(std::uint8_t code, std::uint8_t dst, std::uint8_t src, short off, int imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}
bpf_insn load(std::uint8_t size, std::uint8_t dst, std::uint8_t src, short off) {
  return insn(BPF_LDX | BPF_MEM | size, dst, src, off, 0);
}
bpf_insn store(std::uint8_t size, std::uint8_t dst, std::uint8_t src, short off) {
  return insn(BPF_STX | BPF_MEM | size, dst, src, off, 0);
}
bpf_insn alu(std::uint8_t op, std::uint8_t dst, int imm) { return insn(BPF_ALU64 | op | BPF_K, dst, 0, 0, imm); }
bpf_insn alu_reg(std::uint8_t op, std::uint8_t dst, std::uint8_t src) { return insn(BPF_ALU64 | op | BPF_X, dst, src, 0, 0); }
bpf_insn to_be16(std::uint8_t dst) { return insn(BPF_ALU | BPF_END | BPF_TO_BE, dst, 0, 0, 16); }

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

}  // namespace

std::vector<bpf_insn> rst_ack_fixup_program() {
  // r1 = xdp_md; r2 = data; r3 = data_end; r5/r6 scratch. Jumps to "pass" are
  // patched once its index is known.
  std::vector<bpf_insn> p;
  std::vector<std::size_t> to_pass;
  auto jump_unless = [&](std::uint8_t op, std::uint8_t reg, int imm) {
    to_pass.push_back(p.size());
    p.push_back(insn(BPF_JMP | op | BPF_K, reg, 0, 0, imm));
  };
  p.push_back(load(BPF_W, 2, 1, offsetof(xdp_md, data)));
  p.push_back(load(BPF_W, 3, 1, offsetof(xdp_md, data_end)));
  p.push_back(alu_reg(BPF_MOV, 4, 2));
  p.push_back(alu(BPF_ADD, 4, kFrameNeeded));
  to_pass.push_back(p.size());
  p.push_back(insn(BPF_JMP | BPF_JGT | BPF_X, 4, 3, 0, 0));  // frame too short
  p.push_back(load(BPF_H, 5, 2, kEtherType));
  jump_unless(BPF_JNE, 5, 0x0008);  // 0x0800 (IPv4) read little-endian
  p.push_back(load(BPF_B, 5, 2, kVersionIhl));
  jump_unless(BPF_JNE, 5, 0x45);
  p.push_back(load(BPF_B, 5, 2, kProtocol));
  jump_unless(BPF_JNE, 5, 6);  // TCP
  p.push_back(load(BPF_H, 5, 2, kFragment));
  p.push_back(alu(BPF_AND, 5, 0xff1f));  // fragment offset (little-endian view): only the first has the header
  jump_unless(BPF_JNE, 5, 0);
  p.push_back(load(BPF_B, 5, 2, kTcpFlags));
  p.push_back(alu_reg(BPF_MOV, 6, 5));
  p.push_back(alu(BPF_AND, 6, kTcpRst | kTcpAck));
  jump_unless(BPF_JNE, 6, kTcpRst);  // RST without ACK, else leave it alone
  p.push_back(alu(BPF_OR, 5, kTcpAck));
  p.push_back(store(BPF_B, 2, 5, kTcpFlags));
  // The 16-bit word holding the flags grew by 0x0010: RFC 1624 incremental
  // update, HC' = ~(~HC + 0x0010) in ones' complement.
  p.push_back(load(BPF_H, 5, 2, kTcpChecksum));
  p.push_back(to_be16(5));
  p.push_back(alu(BPF_XOR, 5, 0xffff));
  p.push_back(alu(BPF_ADD, 5, kTcpAck));
  p.push_back(alu_reg(BPF_MOV, 6, 5));
  p.push_back(alu(BPF_RSH, 6, 16));
  p.push_back(alu(BPF_AND, 5, 0xffff));
  p.push_back(alu_reg(BPF_ADD, 5, 6));
  p.push_back(alu(BPF_XOR, 5, 0xffff));
  p.push_back(to_be16(5));
  p.push_back(store(BPF_H, 2, 5, kTcpChecksum));
  const std::size_t pass = p.size();
  p.push_back(alu(BPF_MOV, 0, XDP_PASS));
  p.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  for (auto at : to_pass) p[at].off = static_cast<short>(pass - at - 1);
  return p;
}

std::string attach_rst_ack_fixup(unsigned ifindex) {
  const auto program = rst_ack_fixup_program();
  static const char license[] = "GPL";
  bpf_attr attr{};
  attr.prog_type = BPF_PROG_TYPE_XDP;
  attr.insns = reinterpret_cast<std::uint64_t>(program.data());
  attr.insn_cnt = static_cast<std::uint32_t>(program.size());
  attr.license = reinterpret_cast<std::uint64_t>(license);
  char log[4096] = {};
  attr.log_buf = reinterpret_cast<std::uint64_t>(log);
  attr.log_size = sizeof log;
  attr.log_level = 1;
  UniqueFd prog(static_cast<int>(::syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr)));
  if (!prog) return errno_text("rst-ack fixup: BPF_PROG_LOAD") + " " + log;

  // RTM_SETLINK with IFLA_XDP { IFLA_XDP_FD, IFLA_XDP_FLAGS = SKB mode }: generic
  // XDP works whatever the NIC's MTU (native virtio-net XDP refuses passt's 65520).
  struct {
    nlmsghdr header;
    ifinfomsg info;
    rtattr xdp;
    rtattr fd_attr;
    std::int32_t fd;
    rtattr flags_attr;
    std::uint32_t flags;
  } req{};
  static_assert(sizeof req == NLMSG_LENGTH(sizeof(ifinfomsg)) + RTA_LENGTH(2 * RTA_LENGTH(4)));
  req.header.nlmsg_len = sizeof req;
  req.header.nlmsg_type = RTM_SETLINK;
  req.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  req.info.ifi_family = AF_UNSPEC;
  req.info.ifi_index = static_cast<int>(ifindex);
  req.xdp.rta_type = IFLA_XDP | NLA_F_NESTED;
  req.xdp.rta_len = RTA_LENGTH(2 * RTA_LENGTH(4));
  req.fd_attr.rta_type = IFLA_XDP_FD;
  req.fd_attr.rta_len = RTA_LENGTH(4);
  req.fd = prog.get();
  req.flags_attr.rta_type = IFLA_XDP_FLAGS;
  req.flags_attr.rta_len = RTA_LENGTH(4);
  req.flags = XDP_FLAGS_SKB_MODE;

  UniqueFd nl(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!nl) return errno_text("rst-ack fixup: netlink socket");
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(nl.get(), &req, sizeof req, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) {
    return errno_text("rst-ack fixup: attach XDP");
  }
  char reply[4096];
  const ssize_t n = ::recv(nl.get(), reply, sizeof reply, 0);
  if (n < static_cast<ssize_t>(NLMSG_LENGTH(sizeof(nlmsgerr)))) return errno_text("rst-ack fixup: attach XDP (no reply)");
  auto* h = reinterpret_cast<nlmsghdr*>(reply);
  if (h->nlmsg_type == NLMSG_ERROR) {
    if (const int error = -reinterpret_cast<nlmsgerr*>(NLMSG_DATA(h))->error; error != 0) {
      return std::string("rst-ack fixup: attach XDP: ") + std::strerror(error);
    }
  }
  return {};  // the link holds the program now; closing our fd is fine
}

}  // namespace microagent::guestinit
