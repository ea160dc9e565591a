#include "backends/linux_kvm/vsock/split_virtqueue.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace microagent::linux_kvm {
namespace {

// Ring layouts (2.7.6, 2.7.8): 16-byte descriptors; avail = flags, idx, ring[size];
// used = flags, idx, {id u32, len u32}[size].
constexpr std::size_t kDescSize = 16;

std::uint16_t load_acquire(const std::uint8_t* p) {
  return __atomic_load_n(reinterpret_cast<const std::uint16_t*>(p), __ATOMIC_ACQUIRE);
}

}  // namespace

std::size_t DescriptorChain::readable_bytes() const {
  std::size_t n = 0;
  for (const auto& b : buffers) n += b.device_writable ? 0 : b.len;
  return n;
}

std::size_t DescriptorChain::writable_bytes() const {
  std::size_t n = 0;
  for (const auto& b : buffers) n += b.device_writable ? b.len : 0;
  return n;
}

std::size_t DescriptorChain::read(std::size_t offset, std::span<std::uint8_t> out) const {
  std::size_t done = 0;
  for (const auto& b : buffers) {
    if (b.device_writable || done == out.size()) continue;
    if (offset >= b.len) {
      offset -= b.len;
      continue;
    }
    std::size_t n = std::min<std::size_t>(b.len - offset, out.size() - done);
    std::memcpy(out.data() + done, b.data + offset, n);
    done += n;
    offset = 0;
  }
  return done;
}

std::size_t DescriptorChain::write(std::size_t offset, std::span<const std::uint8_t> in) const {
  std::size_t done = 0;
  for (const auto& b : buffers) {
    if (!b.device_writable || done == in.size()) continue;
    if (offset >= b.len) {
      offset -= b.len;
      continue;
    }
    std::size_t n = std::min<std::size_t>(b.len - offset, in.size() - done);
    std::memcpy(b.data + offset, in.data() + done, n);
    done += n;
    offset = 0;
  }
  return done;
}

Result<void> SplitVirtqueue::set_addresses(const GuestMemory& memory, const vhost_user::VringAddr& addr) {
  if (size_ == 0 || size_ > 32768) return fail(ErrorCode::invalid_request, "vring size not set or too large");
  desc_ = memory.from_front_end_virtual(addr.desc_user_addr, kDescSize * size_);
  avail_ = memory.from_front_end_virtual(addr.avail_user_addr, 4 + 2 * size_);
  used_ = memory.from_front_end_virtual(addr.used_user_addr, 4 + 8 * size_);
  if (!desc_ || !avail_ || !used_) {
    forget_addresses();
    return fail(ErrorCode::invalid_request, "vring address outside the shared memory table");
  }
  // The used index may be non-zero when a ring is resumed (after GET/SET_VRING_BASE).
  next_used_ = load_acquire(used_ + 2);
  return {};
}

void SplitVirtqueue::set_kick(UniqueFd fd, bool polled) {
  kick_ = std::move(fd);
  polled_ = polled;
  // vhost-user.rst: a ring starts when it receives its kick fd (or the no-fd flag).
  started_ = true;
}

void SplitVirtqueue::reset() {
  *this = SplitVirtqueue{};
}

void SplitVirtqueue::drain_kick() const {
  if (!kick_) return;
  std::uint64_t value = 0;
  [[maybe_unused]] auto n = ::read(kick_.get(), &value, sizeof(value));
}

bool SplitVirtqueue::has_available() const {
  return ready() && load_acquire(avail_ + 2) != next_avail_;
}

std::optional<DescriptorChain> SplitVirtqueue::pop(const GuestMemory& memory) {
  if (!has_available()) return std::nullopt;
  std::uint16_t slot = next_avail_ % size_;
  std::uint16_t head = 0;
  std::memcpy(&head, avail_ + 4 + 2 * slot, sizeof(head));
  ++next_avail_;

  DescriptorChain chain;
  chain.head = head;
  std::uint16_t index = head;
  // A chain longer than the ring must contain a loop.
  for (std::uint32_t hops = 0;; ++hops) {
    if (index >= size_ || hops >= size_) {
      chain.valid = false;
      break;
    }
    const std::uint8_t* d = desc_ + kDescSize * index;
    std::uint64_t addr = 0;
    std::uint32_t len = 0;
    std::uint16_t flags = 0, next = 0;
    std::memcpy(&addr, d, 8);
    std::memcpy(&len, d + 8, 4);
    std::memcpy(&flags, d + 12, 2);
    std::memcpy(&next, d + 14, 2);
    auto* data = memory.from_guest_physical(addr, len);
    if ((flags & kDescIndirect) || (data == nullptr && len != 0)) {
      chain.valid = false;
      break;
    }
    chain.buffers.push_back({data, len, (flags & kDescWrite) != 0});
    if (!(flags & kDescNext)) break;
    index = next;
  }
  return chain;
}

void SplitVirtqueue::push_used(std::uint16_t head, std::uint32_t written) {
  if (!ready()) return;
  std::uint8_t* elem = used_ + 4 + 8 * (next_used_ % size_);
  std::uint32_t id = head;
  std::memcpy(elem, &id, 4);
  std::memcpy(elem + 4, &written, 4);
  ++next_used_;
  // The element must be visible before the index that publishes it (2.7.8.2).
  __atomic_store_n(reinterpret_cast<std::uint16_t*>(used_ + 2), next_used_, __ATOMIC_RELEASE);
}

void SplitVirtqueue::notify() const {
  if (!call_) return;
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(call_.get(), &one, sizeof(one));
}

}  // namespace microagent::linux_kvm
