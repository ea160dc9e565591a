#pragma once
// Plain IPv4 TCP endpoints on the host: the --publish listeners and the
// mediation target.
#include <chrono>
#include <cstdint>
#include <string>

#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace microagent::net {

// Listens on host:port (SO_REUSEADDR); conflict when the port is taken.
Result<UniqueFd> listen_tcp(const std::string& host, std::uint16_t port);
// Connects within `timeout`; host_unavailable with the reason when it cannot.
Result<UniqueFd> connect_tcp(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout);
// "HOST:PORT" form of the above.
Result<UniqueFd> connect_tcp(const std::string& target, std::chrono::milliseconds timeout);

}  // namespace microagent::net
