#include "supervisor/host_fit.hpp"

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include <fmt/core.h>

namespace microagent::supervisor {
namespace {

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

// stdio, not POSIX open: the Windows build checks the same way.
Result<File> open_for_reading(const std::filesystem::path& path, const char* field) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return fail(ErrorCode::not_found, fmt::format("config.{} does not exist or is not a file: {}", field, path.string()));
  }
  errno = 0;
  File f(std::fopen(path.string().c_str(), "rb"));
  if (!f) {
    return fail(errno == EACCES ? ErrorCode::permission_denied : ErrorCode::not_found,
                fmt::format("config.{} cannot be read: {}: {}", field, path.string(), std::strerror(errno)));
  }
  return f;
}

}  // namespace

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
  const std::size_t n = std::fread(head.data(), 1, head.size(), f->get());
  const bool elf = n >= 4 && std::memcmp(head.data(), "\x7f" "ELF", 4) == 0;
  const bool bzimage = n >= 0x206 && std::memcmp(head.data() + 0x202, "HdrS", 4) == 0;
  if (!elf && !bzimage) {
    return fail(ErrorCode::invalid_request,
                "config.kernelPath " + path.string() + " is not a Linux kernel (neither an ELF vmlinux nor a bzImage)");
  }
  return {};
}

}  // namespace microagent::supervisor
