#include "backends/windows_hyperv/hvsocket_service.hpp"

#include <cctype>

#include <fmt/core.h>

#include "backends/windows_hyperv/hv_constants.hpp"

namespace microagent::windows_hyperv {

std::string vsock_service_id(std::uint32_t port) { return fmt::format("{:08X}{}", port, kVsockServiceGuidTail); }

std::optional<std::uint32_t> vsock_port_of_service(std::string_view service_id) {
  if (service_id.size() != 8 + kVsockServiceGuidTail.size()) return std::nullopt;
  for (std::size_t i = 0; i < kVsockServiceGuidTail.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(service_id[8 + i])) != kVsockServiceGuidTail[i]) return std::nullopt;
  }
  std::uint32_t port = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(service_id[i])));
    int digit = -1;
    if (c >= '0' && c <= '9') digit = c - '0';
    if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
    if (digit < 0) return std::nullopt;
    port = port * 16 + static_cast<std::uint32_t>(digit);
  }
  return port;
}

}  // namespace microagent::windows_hyperv
