#pragma once
// The CLI's network flags as text -> protocol values. Pure.
//   --publish [HOST:]HOSTPORT:GUESTPORT[/tcp]   (HOST defaults to 127.0.0.1)
//   --mediation PORT=HOST:PORT
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "protocol/types.hpp"

namespace microagent::net {

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
};

// "HOST:PORT" with an IPv4 dotted quad or "localhost" as HOST.
Result<HostPort> parse_host_port(std::string_view text);
Result<protocol::PortForward> parse_publish(std::string_view text);
Result<protocol::MediationSpec> parse_mediation(std::string_view text, bool required);

// True for a well-formed IPv4 dotted quad.
bool is_ipv4(std::string_view text);

}  // namespace microagent::net
