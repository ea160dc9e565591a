#include "backends/linux_kvm/vsock/guest_memory.hpp"

#include <sys/mman.h>

#include <cerrno>

namespace microagent::linux_kvm {

Result<void> GuestMemory::set_table(std::span<const vhost_user::MemoryRegion> regions,
                                    std::span<UniqueFd> fds) {
  clear();
  if (regions.size() != fds.size()) {
    return fail(ErrorCode::invalid_request, "SET_MEM_TABLE: " + std::to_string(regions.size()) +
                                                " regions but " + std::to_string(fds.size()) + " fds");
  }
  for (std::size_t i = 0; i < regions.size(); ++i) {
    const auto& r = regions[i];
    // Map from offset 0 and step over mmap_offset ourselves: the offset need not be
    // page aligned, which mmap would require.
    std::size_t length = r.memory_size + r.mmap_offset;
    void* base = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
                        fds[i].get(), 0);
    if (base == MAP_FAILED) {
      int err = errno;
      clear();
      return fail_errno("mmap guest memory region", err);
    }
    regions_.push_back({r, base, length, static_cast<std::uint8_t*>(base) + r.mmap_offset});
  }
  for (auto& fd : fds) fd.reset();
  return {};
}

void GuestMemory::clear() {
  for (auto& m : regions_) ::munmap(m.base, m.length);
  regions_.clear();
}

std::uint8_t* GuestMemory::from_guest_physical(std::uint64_t gpa, std::uint64_t len) const {
  for (const auto& m : regions_) {
    auto start = m.region.guest_phys_addr;
    if (gpa >= start && gpa - start <= m.region.memory_size && len <= m.region.memory_size - (gpa - start)) {
      return m.start + (gpa - start);
    }
  }
  return nullptr;
}

std::uint8_t* GuestMemory::from_front_end_virtual(std::uint64_t uva, std::uint64_t len) const {
  for (const auto& m : regions_) {
    auto start = m.region.userspace_addr;
    if (uva >= start && uva - start <= m.region.memory_size && len <= m.region.memory_size - (uva - start)) {
      return m.start + (uva - start);
    }
  }
  return nullptr;
}

}  // namespace microagent::linux_kvm
