#pragma once
// vhost-user wire protocol, back-end side. Source: QEMU docs/interop/vhost-user.rst
// ("Message types", "Protocol features", "Ring states"). All fields are little-endian
// host order on x86; messages are a 12-byte header followed by `size` payload bytes,
// file descriptors travel as SCM_RIGHTS ancillary data on the header.
#include <cstddef>
#include <cstdint>

namespace microagent::linux_kvm::vhost_user {

enum Request : std::uint32_t {
  kGetFeatures = 1,
  kSetFeatures = 2,
  kSetOwner = 3,
  kResetOwner = 4,
  kSetMemTable = 5,
  kSetLogBase = 6,
  kSetLogFd = 7,
  kSetVringNum = 8,
  kSetVringAddr = 9,
  kSetVringBase = 10,
  kGetVringBase = 11,
  kSetVringKick = 12,
  kSetVringCall = 13,
  kSetVringErr = 14,
  kGetProtocolFeatures = 15,
  kSetProtocolFeatures = 16,
  kGetQueueNum = 17,
  kSetVringEnable = 18,
  kGetConfig = 24,
  kSetConfig = 25,
  kResetDevice = 34,
};

// Header flags: version 1 in the low two bits, bit 2 marks a reply, bit 3 asks for one.
inline constexpr std::uint32_t kVersion = 0x1;
inline constexpr std::uint32_t kFlagReply = 1u << 2;
inline constexpr std::uint32_t kFlagNeedReply = 1u << 3;

// Feature bit 30 (VHOST_USER_F_PROTOCOL_FEATURES) gates GET/SET_PROTOCOL_FEATURES and makes
// rings start disabled until SET_VRING_ENABLE.
inline constexpr std::uint64_t kFeatureProtocolFeatures = 1ull << 30;

// Protocol features we offer: REPLY_ACK (3) and CONFIG (9). QEMU's vhost-user-vsock-device
// reads guest_cid through GET_CONFIG and refuses a back end without CONFIG.
inline constexpr std::uint64_t kProtocolReplyAck = 1ull << 3;
inline constexpr std::uint64_t kProtocolConfig = 1ull << 9;

// SET_VRING_KICK/CALL/ERR payload: ring index in bits 0-7, bit 8 says "no fd attached".
inline constexpr std::uint64_t kVringIndexMask = 0xff;
inline constexpr std::uint64_t kVringNoFd = 1ull << 8;

inline constexpr std::size_t kMaxMemoryRegions = 8;
inline constexpr std::size_t kMaxFds = 8;

struct Header {
  std::uint32_t request;
  std::uint32_t flags;
  std::uint32_t size;  // payload bytes that follow
};
static_assert(sizeof(Header) == 12);

struct VringState {
  std::uint32_t index;
  std::uint32_t num;
};

struct VringAddr {
  std::uint32_t index;
  std::uint32_t flags;
  std::uint64_t desc_user_addr;   // front end's virtual addresses
  std::uint64_t used_user_addr;
  std::uint64_t avail_user_addr;
  std::uint64_t log_guest_addr;
};
static_assert(sizeof(VringAddr) == 40);

struct MemoryRegion {
  std::uint64_t guest_phys_addr;
  std::uint64_t memory_size;
  std::uint64_t userspace_addr;  // where the front end mapped it
  std::uint64_t mmap_offset;     // offset of the region inside the fd
};
static_assert(sizeof(MemoryRegion) == 32);

struct MemoryTable {
  std::uint32_t nregions;
  std::uint32_t padding;
  MemoryRegion regions[kMaxMemoryRegions];
};

struct ConfigHeader {
  std::uint32_t offset;
  std::uint32_t size;
  std::uint32_t flags;
};
inline constexpr std::size_t kConfigHeaderSize = 12;

// Largest payload we accept: the memory table is the biggest fixed message.
inline constexpr std::size_t kMaxPayload = 4096;

}  // namespace microagent::linux_kvm::vhost_user
