#include "backends/linux_kvm/kvm_cpuid.hpp"

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace microagent::linux_kvm {
namespace {

constexpr std::uint32_t kCpuid1EcxXsave = 1u << 26;

std::string ioctl_failure(const char* what, int err) { return fmt::format("{} failed: {}", what, std::strerror(err)); }

// <linux/kvm.h> ends struct kvm_cpuid2 in __DECLARE_FLEX_ARRAY, which in C++
// puts a 1-byte empty struct before `entries`: g++ makes sizeof 12 (so the
// ioctl numbers KVM_GET_SUPPORTED_CPUID/KVM_SET_CPUID2 encode a wrong size,
// and KVM answers EINVAL) and moves `entries` to offset 12. Our own header,
// laid out as the kernel's (nent, padding, entries at 8):
struct CpuidHeader {
  std::uint32_t nent;
  std::uint32_t padding;
};
static_assert(sizeof(CpuidHeader) == 8);
constexpr unsigned long kGetSupportedCpuid = _IOWR(KVMIO, 0x05, CpuidHeader);
constexpr unsigned long kSetCpuid2 = _IOW(KVMIO, 0x90, CpuidHeader);

}  // namespace

std::optional<std::string> set_supported_cpuid(int kvm_fd, int vcpu_fd, bool& xsave) {
  for (std::uint32_t n = 256; n <= 4096; n *= 2) {  // the kernel's KVM_MAX_CPUID_ENTRIES is 256
    std::vector<std::uint8_t> buf(sizeof(CpuidHeader) + n * sizeof(kvm_cpuid_entry2));
    CpuidHeader header{n, 0};
    std::memcpy(buf.data(), &header, sizeof(header));
    if (::ioctl(kvm_fd, kGetSupportedCpuid, buf.data()) < 0) {
      if (errno == E2BIG) continue;
      return ioctl_failure("KVM_GET_SUPPORTED_CPUID", errno);
    }
    std::memcpy(&header, buf.data(), sizeof(header));
    xsave = false;
    for (std::uint32_t i = 0; i < header.nent && i < n; ++i) {
      kvm_cpuid_entry2 entry;
      std::memcpy(&entry, buf.data() + sizeof(CpuidHeader) + i * sizeof(entry), sizeof(entry));
      if (entry.function == 1) xsave = (entry.ecx & kCpuid1EcxXsave) != 0;
    }
    if (::ioctl(vcpu_fd, kSetCpuid2, buf.data()) < 0) return ioctl_failure("KVM_SET_CPUID2", errno);
    return std::nullopt;
  }
  return std::string("KVM_GET_SUPPORTED_CPUID failed: more than 4096 entries");
}


}  // namespace microagent::linux_kvm
