#include "backends/linux_kvm/host_fit.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include <fmt/core.h>

#include "common/unique_fd.hpp"

namespace microagent::linux_kvm {
namespace {

Result<UniqueFd> open_for_reading(const std::filesystem::path& path, const char* field) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return fail(ErrorCode::not_found, fmt::format("config.{} does not exist or is not a file: {}", field, path.string()));
  }
  UniqueFd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!f) {
    return fail(errno == EACCES ? ErrorCode::permission_denied : ErrorCode::not_found,
                fmt::format("config.{} cannot be read: {}: {}", field, path.string(), std::strerror(errno)));
  }
  return f;
}

}  // namespace

HostCapacity measure_host_capacity() {
  HostCapacity host;
  std::ifstream meminfo("/proc/meminfo");
  for (std::string key; meminfo >> key;) {
    std::int64_t kib = 0;
    meminfo >> kib;
    if (key == "MemTotal:") {
      host.memory_mib = kib / 1024;
      break;
    }
    meminfo.ignore(1 << 10, '\n');
  }
  host.online_cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  return host;
}

Result<void> check_fits_host(const protocol::WorkspaceConfig& config, const HostCapacity& host) {
  if (host.memory_mib > 0 && config.memory_mib > host.memory_mib) {
    return fail(ErrorCode::invalid_request, fmt::format("config.memoryMiB {} is more than this host has ({} MiB)",
                                                        config.memory_mib, host.memory_mib));
  }
  if (host.online_cpus > 0 && config.cpu_count > host.online_cpus) {
    return fail(ErrorCode::invalid_request, fmt::format("config.cpuCount {} is more than this host's {} online CPUs",
                                                        config.cpu_count, host.online_cpus));
  }
  return {};
}

Result<void> check_readable_file(const std::filesystem::path& path, const char* field) {
  auto f = open_for_reading(path, field);
  if (!f) return std::unexpected(f.error());
  return {};
}

Result<void> check_kernel_image(const std::filesystem::path& path) {
  auto f = open_for_reading(path, "kernelPath");
  if (!f) return std::unexpected(f.error());
  std::array<unsigned char, 0x206> head{};
  const ssize_t n = ::pread(f->get(), head.data(), head.size(), 0);
  const bool elf = n >= 4 && std::memcmp(head.data(), "\x7f" "ELF", 4) == 0;
  const bool bzimage = n >= 0x206 && std::memcmp(head.data() + 0x202, "HdrS", 4) == 0;
  if (!elf && !bzimage) {
    return fail(ErrorCode::invalid_request,
                "config.kernelPath " + path.string() + " is not a Linux kernel (neither an ELF vmlinux nor a bzImage)");
  }
  return {};
}

}  // namespace microagent::linux_kvm
