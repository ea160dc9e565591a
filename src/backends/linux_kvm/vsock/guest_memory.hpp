#pragma once
// The guest's RAM as the front end shares it (vhost-user SET_MEM_TABLE): each region is a
// file descriptor we map ourselves. Two address spaces point into it: descriptor buffers
// carry guest-physical addresses, while vring addresses are the front end's own virtual
// addresses (vhost-user.rst "Memory regions description").
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "backends/linux_kvm/vsock/vhost_user_messages.hpp"
#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace microagent::linux_kvm {

class GuestMemory {
 public:
  GuestMemory() = default;
  GuestMemory(const GuestMemory&) = delete;
  GuestMemory& operator=(const GuestMemory&) = delete;
  ~GuestMemory() { clear(); }

  // Replaces every mapping; the fds are only needed while mapping and are closed after.
  Result<void> set_table(std::span<const vhost_user::MemoryRegion> regions, std::span<UniqueFd> fds);
  void clear();
  bool empty() const { return regions_.empty(); }

  // Host pointer to [gpa, gpa+len) when it lies inside one region, else nullptr.
  std::uint8_t* from_guest_physical(std::uint64_t gpa, std::uint64_t len) const;
  // Same, for an address in the front end's virtual address space.
  std::uint8_t* from_front_end_virtual(std::uint64_t uva, std::uint64_t len) const;

 private:
  struct Mapping {
    vhost_user::MemoryRegion region;
    void* base = nullptr;       // what mmap returned
    std::size_t length = 0;     // what to munmap
    std::uint8_t* start = nullptr;  // base + mmap_offset: guest_phys_addr lives here
  };
  std::vector<Mapping> regions_;
};

}  // namespace microagent::linux_kvm
