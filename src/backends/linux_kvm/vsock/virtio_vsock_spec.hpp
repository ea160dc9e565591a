#pragma once
// virtio-vsock constants and the packet header. Source: virtio 1.2 specification, section
// 5.10 "Socket Device" (5.10.4 config layout, 5.10.6 "Device Operation": header, ops,
// flags, credit accounting). Feature and ring bits: sections 2.7 and 6.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

namespace microagent::linux_kvm::vsock_spec {

inline constexpr std::uint64_t kHostCid = 2;  // well-known CID of the host (5.10.4)

// Virtqueue numbers (5.10.2). QEMU keeps the event queue for itself (transport reset
// after migration) and hands only rx and tx to a vhost back end.
inline constexpr std::uint32_t kRxQueue = 0;  // device -> driver
inline constexpr std::uint32_t kTxQueue = 1;  // driver -> device
inline constexpr std::uint32_t kEventQueue = 2;

inline constexpr std::uint64_t kFeatureVersion1 = 1ull << 32;  // VIRTIO_F_VERSION_1 (6)

enum class Type : std::uint16_t { stream = 1, seqpacket = 2 };

enum class Op : std::uint16_t {
  invalid = 0,
  request = 1,
  response = 2,
  rst = 3,
  shutdown = 4,
  rw = 5,
  credit_update = 6,
  credit_request = 7,
};

// OP_SHUTDOWN flags: the sender will receive (RCV) / send (SEND) no more data.
inline constexpr std::uint32_t kShutdownRcv = 1;
inline constexpr std::uint32_t kShutdownSend = 2;

// struct virtio_vsock_hdr, packed, little-endian, 44 bytes.
inline constexpr std::size_t kHeaderSize = 44;

struct PacketHeader {
  std::uint64_t src_cid = 0;
  std::uint64_t dst_cid = 0;
  std::uint32_t src_port = 0;
  std::uint32_t dst_port = 0;
  std::uint32_t len = 0;
  Type type = Type::stream;
  Op op = Op::invalid;
  std::uint32_t flags = 0;
  std::uint32_t buf_alloc = 0;
  std::uint32_t fwd_cnt = 0;

  bool operator==(const PacketHeader&) const = default;
};

// x86 and aarch64 hosts are little-endian, so a memcpy is the wire encoding.
static_assert(std::endian::native == std::endian::little);

inline void encode_header(const PacketHeader& h, std::span<std::uint8_t, kHeaderSize> out) {
  auto put = [&](std::size_t at, auto value) { std::memcpy(out.data() + at, &value, sizeof(value)); };
  put(0, h.src_cid);
  put(8, h.dst_cid);
  put(16, h.src_port);
  put(20, h.dst_port);
  put(24, h.len);
  put(28, static_cast<std::uint16_t>(h.type));
  put(30, static_cast<std::uint16_t>(h.op));
  put(32, h.flags);
  put(36, h.buf_alloc);
  put(40, h.fwd_cnt);
}

// Fails only on a short buffer; unknown ops and types are kept for the caller to reject.
inline std::optional<PacketHeader> decode_header(std::span<const std::uint8_t> in) {
  if (in.size() < kHeaderSize) return std::nullopt;
  auto get = [&]<class T>(std::size_t at, T& value) { std::memcpy(&value, in.data() + at, sizeof(T)); };
  PacketHeader h;
  std::uint16_t type = 0, op = 0;
  get(0, h.src_cid);
  get(8, h.dst_cid);
  get(16, h.src_port);
  get(20, h.dst_port);
  get(24, h.len);
  get(28, type);
  get(30, op);
  get(32, h.flags);
  get(36, h.buf_alloc);
  get(40, h.fwd_cnt);
  h.type = static_cast<Type>(type);
  h.op = static_cast<Op>(op);
  return h;
}

}  // namespace microagent::linux_kvm::vsock_spec
