#pragma once
// What a workspace asks of the host, checked against the host before anything
// starts, by every backend: guest memory within the host's RAM, vCPUs within
// its CPUs, a kernel the hypervisor can boot (ELF vmlinux or bzImage), a
// readable initrd. Each backend measures HostCapacity its own way.
#include <cstdint>
#include <filesystem>

#include "common/error.hpp"
#include "protocol/types.hpp"

namespace microagent::supervisor {

struct HostCapacity {
  std::int64_t memory_mib = 0;   // physical memory (0: unknown, not checked)
  std::int64_t online_cpus = 0;  // logical processors (0: unknown, not checked)
};

// invalid_request naming the field and the host's figure.
Result<void> check_fits_host(const protocol::WorkspaceConfig& config, const HostCapacity& host);

// invalid_request unless `path` starts like an ELF image or a Linux bzImage
// ("HdrS" at 0x202); not_found / permission_denied when it cannot be read.
Result<void> check_kernel_image(const std::filesystem::path& path);
// A regular file this process can open for reading.
Result<void> check_readable_file(const std::filesystem::path& path, const char* field);

}  // namespace microagent::supervisor
