#pragma once
// Test support: the driver side of a split virtqueue (virtio 1.2 section 2.7), written
// independently of the device code so each checks the other.
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <utility>
#include <vector>

namespace microagent::linux_kvm::testing {

struct DriverBuffer {
  std::uint64_t gpa;
  std::uint32_t len;
  bool device_writable;
};

class FakeDriverRing {
 public:
  // `ring` points at guest-physical `ring_gpa`; desc, avail and used follow at fixed offsets.
  FakeDriverRing(std::uint8_t* ring, std::uint64_t ring_gpa, std::uint16_t size)
      : ring_(ring), ring_gpa_(ring_gpa), size_(size) {
    std::memset(ring_, 0, kUsedOffset + 4 + 8 * size);
    for (std::uint16_t i = 0; i < size; ++i) free_.push_back(static_cast<std::uint16_t>(size - 1 - i));
  }
  static constexpr std::uint64_t kAvailOffset = 0x2000;
  static constexpr std::uint64_t kUsedOffset = 0x4000;
  std::uint64_t desc_gpa() const { return ring_gpa_; }
  std::uint64_t avail_gpa() const { return ring_gpa_ + kAvailOffset; }
  std::uint64_t used_gpa() const { return ring_gpa_ + kUsedOffset; }
  std::uint16_t size() const { return size_; }
  std::uint16_t avail_idx() const { return avail_idx_; }
  std::size_t free_descriptors() const { return free_.size(); }

  // Returns the head, or nullopt when the table is full.
  std::optional<std::uint16_t> add(const std::vector<DriverBuffer>& buffers, bool publish = true) {
    if (buffers.empty() || buffers.size() > free_.size()) return std::nullopt;
    std::vector<std::uint16_t> ids;
    for (std::size_t i = 0; i < buffers.size(); ++i) {
      ids.push_back(free_.back());
      free_.pop_back();
    }
    for (std::size_t i = 0; i < buffers.size(); ++i) {
      std::uint8_t* d = ring_ + 16 * ids[i];
      std::uint16_t flags = (buffers[i].device_writable ? 2 : 0) | (i + 1 < buffers.size() ? 1 : 0);
      std::uint16_t next = i + 1 < buffers.size() ? ids[i + 1] : 0;
      std::memcpy(d, &buffers[i].gpa, 8);
      std::memcpy(d + 8, &buffers[i].len, 4);
      std::memcpy(d + 12, &flags, 2);
      std::memcpy(d + 14, &next, 2);
    }
    std::uint16_t slot = avail_idx_ % size_;
    std::memcpy(ring_ + kAvailOffset + 4 + 2 * slot, &ids[0], 2);
    ++avail_idx_;
    chains_[ids[0]] = ids;
    if (publish) this->publish();
    return ids[0];
  }
  void publish() {
    __atomic_store_n(reinterpret_cast<std::uint16_t*>(ring_ + kAvailOffset + 2), avail_idx_, __ATOMIC_RELEASE);
  }

  // Next used element {head, written}, freeing its descriptors.
  std::optional<std::pair<std::uint16_t, std::uint32_t>> take_used() {
    auto idx = __atomic_load_n(reinterpret_cast<std::uint16_t*>(ring_ + kUsedOffset + 2), __ATOMIC_ACQUIRE);
    if (idx == used_seen_) return std::nullopt;
    std::uint8_t* e = ring_ + kUsedOffset + 4 + 8 * (used_seen_ % size_);
    std::uint32_t id, len;
    std::memcpy(&id, e, 4);
    std::memcpy(&len, e + 4, 4);
    ++used_seen_;
    auto it = chains_.find(static_cast<std::uint16_t>(id));
    if (it != chains_.end()) {
      for (auto d : it->second) free_.push_back(d);
      chains_.erase(it);
    }
    return std::pair{static_cast<std::uint16_t>(id), len};
  }

 private:
  std::uint8_t* ring_;
  std::uint64_t ring_gpa_;
  std::uint16_t size_;
  std::uint16_t avail_idx_ = 0;
  std::uint16_t used_seen_ = 0;
  std::vector<std::uint16_t> free_;
  std::map<std::uint16_t, std::vector<std::uint16_t>> chains_;
};

}  // namespace microagent::linux_kvm::testing
