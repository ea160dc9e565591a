#pragma once
// What a workspace asks of the host, checked against the host before anything
// starts: guest memory within the host's RAM, vCPUs within its online CPUs, a
// kernel QEMU can boot (ELF vmlinux or bzImage), a readable initrd.
#include <cstdint>
#include <filesystem>

#include "common/error.hpp"
#include "protocol/types.hpp"

namespace microagent::linux_kvm {

struct HostCapacity {
  std::int64_t memory_mib = 0;  // MemTotal
  std::int64_t online_cpus = 0;
};

HostCapacity measure_host_capacity();

// invalid_request naming the field and the host's figure.
Result<void> check_fits_host(const protocol::WorkspaceConfig& config, const HostCapacity& host);

// invalid_request unless `path` starts like an ELF image or a Linux bzImage
// ("HdrS" at 0x202); not_found / permission_denied when it cannot be read.
Result<void> check_kernel_image(const std::filesystem::path& path);
// A regular file this process can open for reading.
Result<void> check_readable_file(const std::filesystem::path& path, const char* field);

}  // namespace microagent::linux_kvm
