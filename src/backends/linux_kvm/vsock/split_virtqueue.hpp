#pragma once
// One split virtqueue seen from the device side (virtio 1.2 section 2.7): the driver
// offers descriptor chains in the available ring, we hand them back in the used ring.
// We negotiate neither VIRTIO_RING_F_EVENT_IDX nor INDIRECT_DESC, so every used buffer is
// followed by a call-eventfd signal and descriptors are always direct.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "backends/linux_kvm/vsock/guest_memory.hpp"
#include "backends/linux_kvm/vsock/vhost_user_messages.hpp"
#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace microagent::linux_kvm {

// Descriptor flags (2.7.5).
inline constexpr std::uint16_t kDescNext = 1;
inline constexpr std::uint16_t kDescWrite = 2;
inline constexpr std::uint16_t kDescIndirect = 4;

struct DescriptorBuffer {
  std::uint8_t* data = nullptr;
  std::uint32_t len = 0;
  bool device_writable = false;
};

// A chain mapped into our address space. The header and payload of one vsock packet may be
// split across several buffers at any byte, so callers read and write through offsets.
struct DescriptorChain {
  std::uint16_t head = 0;
  bool valid = true;  // false: bad address, loop or indirect; return it unused
  std::vector<DescriptorBuffer> buffers;

  std::size_t readable_bytes() const;
  std::size_t writable_bytes() const;
  // Copies from the driver-readable buffers, starting `offset` bytes into them.
  std::size_t read(std::size_t offset, std::span<std::uint8_t> out) const;
  // Copies into the device-writable buffers, starting `offset` bytes into them.
  std::size_t write(std::size_t offset, std::span<const std::uint8_t> in) const;
};

class SplitVirtqueue {
 public:
  void set_size(std::uint32_t size) { size_ = size; }
  // Ring addresses arrive in the front end's virtual address space.
  Result<void> set_addresses(const GuestMemory& memory, const vhost_user::VringAddr& addr);
  void set_base(std::uint16_t next_avail) { next_avail_ = next_avail; }
  std::uint16_t base() const { return next_avail_; }
  void set_kick(UniqueFd fd, bool polled);
  void set_call(UniqueFd fd) { call_ = std::move(fd); }
  void set_enabled(bool enabled) { enabled_ = enabled; }
  // GET_VRING_BASE stops the ring until a new kick fd starts it.
  void stop() {
    started_ = false;
    polled_ = false;
    kick_.reset();
  }
  // Forgets everything (front end gone, RESET_OWNER).
  void reset();
  // Mappings point into old memory after SET_MEM_TABLE: the front end resends addresses.
  void forget_addresses() { desc_ = avail_ = used_ = nullptr; }

  bool ready() const { return started_ && enabled_ && desc_ != nullptr && size_ > 0; }
  bool polled() const { return polled_; }
  int kick_fd() const { return kick_.get(); }
  // Reads the kick eventfd so level-triggered epoll quietens.
  void drain_kick() const;

  // Next available chain, or nullopt when the driver has offered nothing new.
  std::optional<DescriptorChain> pop(const GuestMemory& memory);
  // Gives back the chain pop() just returned (nothing was written to it).
  void unpop() { --next_avail_; }
  bool has_available() const;
  void push_used(std::uint16_t head, std::uint32_t written);
  // Signals the call eventfd; a no-op before the front end sent one.
  void notify() const;

 private:
  std::uint32_t size_ = 0;
  std::uint8_t* desc_ = nullptr;
  std::uint8_t* avail_ = nullptr;
  std::uint8_t* used_ = nullptr;
  std::uint16_t next_avail_ = 0;
  std::uint16_t next_used_ = 0;
  UniqueFd kick_;
  UniqueFd call_;
  bool polled_ = false;
  bool started_ = false;
  bool enabled_ = false;
};

}  // namespace microagent::linux_kvm
