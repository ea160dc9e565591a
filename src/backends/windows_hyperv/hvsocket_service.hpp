#pragma once
// AF_VSOCK port <-> Hyper-V socket service GUID (hv_constants.hpp): the host
// listens on, and grants in the compute-system document, the service whose
// first field is the guest's vsock port.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace microagent::windows_hyperv {

// 1024 -> "00000400-FACB-11E6-BD58-64006A7986D3".
std::string vsock_service_id(std::uint32_t port);
// The inverse, case-insensitive; nullopt for anything not of the template
// (including "{...}" braces, which callers strip first).
std::optional<std::uint32_t> vsock_port_of_service(std::string_view service_id);

}  // namespace microagent::windows_hyperv
