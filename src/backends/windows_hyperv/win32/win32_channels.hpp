#pragma once
// The Windows ends of a VM's channels: a Hyper-V socket listener for one
// guest vsock port (AF_HYPERV, SOCKADDR_HV{VmId, ServiceId}) and the COM1
// named-pipe capture into serial.log.
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "common/connect_session.hpp"
#include "backends/windows_hyperv/win32/windows_headers.hpp"
#include "backends/windows_hyperv/windows_host.hpp"

namespace microagent::windows_hyperv::win32 {

// `vm_runtime_id`: the VM's runtime GUID (HCS properties "RuntimeId"); the
// listener accepts that VM only. Empty: HV_GUID_WILDCARD. `vm_running` is
// asked once a second while waiting, so a VM that dies without connecting
// ends the wait instead of hanging it.
Result<std::unique_ptr<GuestServiceListener>> listen_hvsocket(const std::string& vm_runtime_id, std::uint32_t port,
                                                              std::function<bool()> vm_running);

// Connects to the guest's service `port`, sends `line`, reads one reply line.
Result<std::string> hvsocket_request(const std::string& vm_runtime_id, std::uint32_t port, const std::string& line,
                                     std::chrono::milliseconds timeout);

// A connect session's stream to the guest's service `port` (connect_session.hpp);
// host_unavailable without AF_HYPERV, the connect error when the guest refuses
// or does not answer within `timeout`.
Result<std::unique_ptr<GuestStream>> connect_hvsocket(const std::string& vm_runtime_id, std::uint32_t port,
                                                      std::chrono::milliseconds timeout);

// WSAStartup once; false when Winsock 2.2 is missing.
bool winsock_ready();
// "xxxxxxxx-...", with or without braces.
Result<GUID> parse_guid(const std::string& text);

// Can this host create AF_HYPERV sockets at all (doctor)?
HostFact probe_hvsocket();

Result<std::unique_ptr<SerialCapture>> capture_com1(const std::string& pipe, const std::filesystem::path& log);

}  // namespace microagent::windows_hyperv::win32
