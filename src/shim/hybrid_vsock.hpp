#pragma once
// The host end of vsock as the shim sees it: Firecracker's "hybrid vsock"
// convention over Unix sockets (DESIGN.md section 4). Whatever serves the
// device (vhost-vsock, microagent's vhost-user device), this is all the shim knows:
// - host -> guest: connect to <uds>, write "CONNECT <port>\n", read "OK <hostport>\n";
// - guest -> host port P: the device connects to <uds>_<P>, where we listen.
#include <chrono>
#include <cstdint>
#include <filesystem>

#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace microagent::shim {

std::filesystem::path guest_port_socket(const std::filesystem::path& uds, std::uint32_t port);

// Listens on <uds>_<port> (a stale socket file is replaced).
Result<UniqueFd> listen_for_guest_connections(const std::filesystem::path& uds, std::uint32_t port);

// Opens a stream to the guest's `port`; not_found/conflict when nothing listens there.
Result<UniqueFd> connect_to_guest(const std::filesystem::path& uds, std::uint32_t port,
                                  std::chrono::milliseconds timeout);

// Reads until EOF or `max_bytes` (then fails), giving up at `timeout`.
Result<std::string> read_stream_to_end(int fd, std::size_t max_bytes, std::chrono::milliseconds timeout);

// Unix socket paths are limited to 108 bytes (sun_path).
bool fits_unix_socket_path(const std::filesystem::path& path);

}  // namespace microagent::shim
