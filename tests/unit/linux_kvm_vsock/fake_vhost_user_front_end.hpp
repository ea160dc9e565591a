#pragma once
// Test support: plays QEMU's part over the vhost-user socket (memfd guest memory shared
// with SET_MEM_TABLE, vrings, kick/call eventfds) and the guest driver's part on the rx
// and tx queues, so the device can be driven without a VM.
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <array>
#include <cstring>
#include <map>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "backends/linux_kvm/vsock/vhost_user_messages.hpp"
#include "backends/linux_kvm/vsock/virtio_vsock_spec.hpp"
#include "fake_driver_ring.hpp"

namespace microagent::linux_kvm::testing {

struct GuestPacket {
  vsock_spec::PacketHeader header;
  std::string payload;
};

class FakeFrontEnd {
 public:
  static constexpr std::size_t kMemSize = 8 << 20;
  static constexpr std::uint64_t kFrontEndBase = 0x7f1200000000;  // pretend QEMU mapping
  static constexpr std::uint64_t kRxBuffers = 0x100000;           // rx: 44 + 4096 per slot
  static constexpr std::uint64_t kTxBuffers = 0x400000;           // tx: 64 KiB per slot
  static constexpr std::uint16_t kRingSize = 128;
  static constexpr std::uint16_t kRxSlots = 32;

  ~FakeFrontEnd() {
    if (sock_ >= 0) ::close(sock_);
    for (int fd : kick_) if (fd >= 0) ::close(fd);
    for (int fd : call_) if (fd >= 0) ::close(fd);
    if (mem_) ::munmap(mem_, kMemSize);
    if (memfd_ >= 0) ::close(memfd_);
  }

  bool connect(const std::filesystem::path& socket) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket.c_str(), sizeof(addr.sun_path) - 1);
    sock_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    for (int i = 0; i < 200; ++i) {
      if (::connect(sock_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) return true;
      ::usleep(10000);
    }
    return false;
  }
  void disconnect() {
    ::close(sock_);
    sock_ = -1;
  }

  // The message sequence QEMU 7.2 uses when the guest driver starts the device.
  ::testing::AssertionResult handshake(std::uint64_t expected_cid) {
    namespace vu = vhost_user;
    auto features = request_u64(vu::kGetFeatures);
    if (!(features & vsock_spec::kFeatureVersion1)) return ::testing::AssertionFailure() << "no VERSION_1";
    if (!(features & vu::kFeatureProtocolFeatures)) return ::testing::AssertionFailure() << "no PROTOCOL_FEATURES";
    send_u64(vu::kSetFeatures, vsock_spec::kFeatureVersion1 | vu::kFeatureProtocolFeatures);
    auto proto = request_u64(vu::kGetProtocolFeatures);
    if (!(proto & vu::kProtocolConfig)) return ::testing::AssertionFailure() << "no CONFIG";
    send_u64(vu::kSetProtocolFeatures, proto & (vu::kProtocolConfig | vu::kProtocolReplyAck));
    send(vu::kSetOwner, {}, {});
    // GET_CONFIG for the 8-byte guest_cid.
    std::vector<std::uint8_t> cfg(12 + 8, 0);
    std::uint32_t size = 8;
    std::memcpy(cfg.data() + 4, &size, 4);
    send(vu::kGetConfig, cfg, {});
    auto reply = receive();
    std::uint64_t cid = 0;
    if (reply.size() != 20) return ::testing::AssertionFailure() << "GET_CONFIG reply size " << reply.size();
    std::memcpy(&cid, reply.data() + 12, 8);
    if (cid != expected_cid) return ::testing::AssertionFailure() << "guest_cid " << cid;

    if (!mem_) {
      memfd_ = ::memfd_create("fake-guest-ram", MFD_CLOEXEC);
      if (::ftruncate(memfd_, kMemSize) != 0) return ::testing::AssertionFailure() << "ftruncate";
      mem_ = static_cast<std::uint8_t*>(::mmap(nullptr, kMemSize, PROT_READ | PROT_WRITE, MAP_SHARED, memfd_, 0));
    }
    std::memset(mem_, 0, kMemSize);
    std::vector<std::uint8_t> table(8 + sizeof(vu::MemoryRegion), 0);
    std::uint32_t one = 1;
    std::memcpy(table.data(), &one, 4);
    vu::MemoryRegion region{0, kMemSize, kFrontEndBase, 0};
    std::memcpy(table.data() + 8, &region, sizeof(region));
    send(vu::kSetMemTable, table, {memfd_}, /*need_reply=*/true);
    if (ack() != 0) return ::testing::AssertionFailure() << "SET_MEM_TABLE nack";

    rings_.clear();
    for (std::uint32_t q = 0; q < 2; ++q) {
      std::uint64_t ring_gpa = 0x10000 * (q + 1);
      rings_.emplace_back(mem_ + ring_gpa, ring_gpa, kRingSize);
      send_state(vu::kSetVringNum, q, kRingSize);
      send_state(vu::kSetVringBase, q, 0);
      auto& r = rings_.back();
      vu::VringAddr a{q, 0, kFrontEndBase + r.desc_gpa(), kFrontEndBase + r.used_gpa(),
                      kFrontEndBase + r.avail_gpa(), 0};
      send(vu::kSetVringAddr, bytes_of(a), {});
      if (kick_[q] < 0) kick_[q] = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
      if (call_[q] < 0) call_[q] = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
      send(vu::kSetVringKick, bytes_of(std::uint64_t{q}), {kick_[q]});
      send(vu::kSetVringCall, bytes_of(std::uint64_t{q}), {call_[q]});
      send_state(vu::kSetVringEnable, q, 1, /*need_reply=*/true);
      if (ack() != 0) return ::testing::AssertionFailure() << "SET_VRING_ENABLE nack";
    }
    tx_slot_ = 0;
    for (std::uint16_t i = 0; i < kRxSlots; ++i) post_rx(i);
    kick(0);
    return ::testing::AssertionSuccess();
  }

  std::uint32_t get_vring_base(std::uint32_t q) {
    send_state(vhost_user::kGetVringBase, q, 0);
    auto reply = receive();
    vhost_user::VringState s{};
    std::memcpy(&s, reply.data(), sizeof(s));
    return s.num;
  }

  // Sends one packet on tx: header and payload in separate descriptors, as Linux does.
  void send_packet(vsock_spec::PacketHeader h, const std::string& payload = {}) {
    h.len = static_cast<std::uint32_t>(payload.size());
    auto& tx = rings_[1];
    // Tx buffers are recycled round-robin: keep fewer in flight than there are slots.
    for (int spins = 0; tx.free_descriptors() < kRingSize - 2 * 16 && spins < 500; ++spins) {
      while (tx.take_used()) {
      }
      if (tx.free_descriptors() >= kRingSize - 2 * 16) break;
      pollfd pfd{call_[1], POLLIN, 0};
      ::poll(&pfd, 1, 10);
      std::uint64_t v;
      [[maybe_unused]] auto n = ::read(call_[1], &v, sizeof(v));
    }
    while (tx.take_used()) {
    }
    std::uint64_t gpa = kTxBuffers + (tx_slot_++ % 32) * 0x11000;
    std::array<std::uint8_t, vsock_spec::kHeaderSize> raw{};
    vsock_spec::encode_header(h, raw);
    std::memcpy(mem_ + gpa, raw.data(), raw.size());
    std::vector<DriverBuffer> chain{{gpa, vsock_spec::kHeaderSize, false}};
    if (!payload.empty()) {
      std::memcpy(mem_ + gpa + 0x100, payload.data(), payload.size());
      chain.push_back({gpa + 0x100, static_cast<std::uint32_t>(payload.size()), false});
    }
    tx.add(chain);
    kick(1);
  }

  // Next packet the device put on rx, waiting up to `timeout`.
  std::optional<GuestPacket> receive_packet(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto used = rings_[0].take_used()) {
        std::uint16_t slot = rx_slot_of_head_.at(used->first);
        std::uint64_t gpa = kRxBuffers + slot * 0x1100;
        GuestPacket p;
        p.header = *vsock_spec::decode_header(std::span<const std::uint8_t>(mem_ + gpa, vsock_spec::kHeaderSize));
        std::uint32_t data_len = used->second - vsock_spec::kHeaderSize;
        p.payload.assign(reinterpret_cast<char*>(mem_ + gpa + 0x40), data_len);
        post_rx(slot);
        kick(0);
        return p;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd pfd{call_[0], POLLIN, 0};
      ::poll(&pfd, 1, static_cast<int>(left.count()));
      std::uint64_t v;
      [[maybe_unused]] auto n = ::read(call_[0], &v, sizeof(v));
    }
  }

 private:
  template <class T>
  static std::vector<std::uint8_t> bytes_of(const T& v) {
    std::vector<std::uint8_t> out(sizeof(T));
    std::memcpy(out.data(), &v, sizeof(T));
    return out;
  }
  void post_rx(std::uint16_t slot) {
    // Linux 6.1 posts the header and the data buffer as two descriptors.
    std::uint64_t gpa = kRxBuffers + slot * 0x1100;
    auto head = rings_[0].add({{gpa, vsock_spec::kHeaderSize, true}, {gpa + 0x40, 4096, true}});
    rx_slot_of_head_[*head] = slot;
  }
  void kick(int q) {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(kick_[q], &one, sizeof(one));
  }
  void send(std::uint32_t request, const std::vector<std::uint8_t>& payload, std::vector<int> fds,
            bool need_reply = false) {
    vhost_user::Header h{request, vhost_user::kVersion | (need_reply ? vhost_user::kFlagNeedReply : 0u),
                         static_cast<std::uint32_t>(payload.size())};
    std::vector<std::uint8_t> buf(sizeof(h) + payload.size());
    std::memcpy(buf.data(), &h, sizeof(h));
    if (!payload.empty()) std::memcpy(buf.data() + sizeof(h), payload.data(), payload.size());
    iovec iov{buf.data(), buf.size()};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 8)]{};
    if (!fds.empty()) {
      mh.msg_control = control;
      mh.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
      cmsghdr* c = CMSG_FIRSTHDR(&mh);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
      std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    ::sendmsg(sock_, &mh, MSG_NOSIGNAL);
  }
  void send_u64(std::uint32_t request, std::uint64_t v) { send(request, bytes_of(v), {}); }
  void send_state(std::uint32_t request, std::uint32_t index, std::uint32_t num, bool need_reply = false) {
    send(request, bytes_of(vhost_user::VringState{index, num}), {}, need_reply);
  }
  std::vector<std::uint8_t> receive() {
    vhost_user::Header h{};
    if (::recv(sock_, &h, sizeof(h), MSG_WAITALL) != sizeof(h)) return {};
    std::vector<std::uint8_t> payload(h.size);
    if (h.size) ::recv(sock_, payload.data(), h.size, MSG_WAITALL);
    return payload;
  }
  std::uint64_t request_u64(std::uint32_t request) {
    send(request, {}, {});
    auto p = receive();
    std::uint64_t v = 0;
    if (p.size() == 8) std::memcpy(&v, p.data(), 8);
    return v;
  }
  std::uint64_t ack() {
    auto p = receive();
    std::uint64_t v = ~0ull;
    if (p.size() == 8) std::memcpy(&v, p.data(), 8);
    return v;
  }

  int sock_ = -1;
  int memfd_ = -1;
  std::uint8_t* mem_ = nullptr;
  int kick_[2] = {-1, -1};
  int call_[2] = {-1, -1};
  std::vector<FakeDriverRing> rings_;
  std::map<std::uint16_t, std::uint16_t> rx_slot_of_head_;
  std::uint32_t tx_slot_ = 0;
};

}  // namespace microagent::linux_kvm::testing
