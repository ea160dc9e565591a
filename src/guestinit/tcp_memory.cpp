#include "guestinit/tcp_memory.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "common/unique_fd.hpp"
#include "guestinit/config_source.hpp"

namespace microagent::guestinit {
namespace {

std::uint64_t parse_mem_total_kib(const std::string& meminfo) {
  constexpr std::string_view kKey = "MemTotal:";
  const auto at = meminfo.find(kKey);
  if (at == std::string::npos) return 0;
  return std::strtoull(meminfo.c_str() + at + kKey.size(), nullptr, 10);
}

}  // namespace

std::string tcp_mem_setting(std::uint64_t mem_total_kib, std::uint64_t page_bytes) {
  if (page_bytes == 0) return "";
  const std::uint64_t pages = mem_total_kib * 1024 / page_bytes;
  if (pages < 64) return "";
  return std::to_string(pages / 8) + " " + std::to_string(pages / 4) + " " + std::to_string(pages / 2);
}

std::string size_tcp_memory_to_guest() {
  auto meminfo = read_text_file("/proc/meminfo");
  if (!meminfo) return "tcp_mem: cannot read /proc/meminfo";
  const std::string setting =
      tcp_mem_setting(parse_mem_total_kib(*meminfo), static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)));
  if (setting.empty()) return "tcp_mem: no usable MemTotal in /proc/meminfo";
  UniqueFd fd(::open("/proc/sys/net/ipv4/tcp_mem", O_WRONLY | O_CLOEXEC));
  if (!fd || ::write(fd.get(), setting.data(), setting.size()) != static_cast<ssize_t>(setting.size())) {
    return std::string("tcp_mem: ") + std::strerror(errno);
  }
  return "";
}

}  // namespace microagent::guestinit
