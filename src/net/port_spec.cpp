#include "net/port_spec.hpp"

#ifdef _WIN32
#include <ws2tcpip.h>  // inet_pton: the Windows CLI parses --publish too
#else
#include <arpa/inet.h>
#endif

#include <charconv>
#include <vector>

namespace microagent::net {
namespace {

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == sep) {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

Result<std::uint32_t> parse_number(std::string_view text, std::uint32_t max, std::string_view what) {
  std::uint32_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value == 0 || value > max) {
    return fail(ErrorCode::invalid_request, std::string(what) + " '" + std::string(text) + "' must be a number from 1 to " +
                                                std::to_string(max));
  }
  return value;
}

}  // namespace

bool is_ipv4(std::string_view text) {
  in_addr addr{};
  return ::inet_pton(AF_INET, std::string(text).c_str(), &addr) == 1;
}

Result<HostPort> parse_host_port(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return fail(ErrorCode::invalid_request, "'" + std::string(text) + "' must look like HOST:PORT (for example 127.0.0.1:9900)");
  }
  HostPort out;
  out.host = std::string(text.substr(0, colon));
  if (out.host == "localhost") out.host = "127.0.0.1";
  if (!is_ipv4(out.host)) {
    return fail(ErrorCode::invalid_request, "host '" + out.host + "' in '" + std::string(text) + "' must be an IPv4 address");
  }
  auto port = parse_number(text.substr(colon + 1), 65535, "port");
  if (!port) return std::unexpected(port.error());
  out.port = static_cast<std::uint16_t>(*port);
  return out;
}

Result<protocol::PortForward> parse_publish(std::string_view text) {
  const std::string usage = "--publish '" + std::string(text) + "' must look like [HOST:]HOSTPORT:GUESTPORT[/tcp]";
  protocol::PortForward forward;
  std::string_view spec = text;
  if (const auto slash = spec.rfind('/'); slash != std::string_view::npos) {
    const auto protocol = spec.substr(slash + 1);
    if (protocol != "tcp") {
      return fail(ErrorCode::invalid_request, usage + ": only tcp is supported, not '" + std::string(protocol) + "'");
    }
    spec = spec.substr(0, slash);
  }
  const auto parts = split(spec, ':');
  if (parts.size() != 2 && parts.size() != 3) return fail(ErrorCode::invalid_request, usage);
  if (parts.size() == 3) {
    forward.host = parts[0] == "localhost" ? "127.0.0.1" : std::string(parts[0]);
    if (!is_ipv4(forward.host)) return fail(ErrorCode::invalid_request, usage + ": HOST must be an IPv4 address");
    // Typing a HOST beyond loopback on the command line is the opt-in the
    // protocol asks for ("exposed": true); the default stays 127.0.0.1.
    forward.exposed = forward.host.rfind("127.", 0) != 0;
  }
  auto host_port = parse_number(parts[parts.size() - 2], 65535, "host port");
  if (!host_port) return fail(ErrorCode::invalid_request, usage + ": " + host_port.error().message);
  auto guest_port = parse_number(parts.back(), 65535, "guest port");
  if (!guest_port) return fail(ErrorCode::invalid_request, usage + ": " + guest_port.error().message);
  forward.host_port = static_cast<std::uint16_t>(*host_port);
  forward.guest_port = static_cast<std::uint16_t>(*guest_port);
  return forward;
}

Result<protocol::MediationSpec> parse_mediation(std::string_view text, bool required) {
  const std::string usage = "--mediation '" + std::string(text) + "' must look like PORT=HOST:PORT (for example 2048=127.0.0.1:9900)";
  const auto eq = text.find('=');
  if (eq == std::string_view::npos) return fail(ErrorCode::invalid_request, usage);
  auto port = parse_number(text.substr(0, eq), 0xffffffffu, "vsock port");
  if (!port) return fail(ErrorCode::invalid_request, usage + ": " + port.error().message);
  auto target = parse_host_port(text.substr(eq + 1));
  if (!target) return fail(ErrorCode::invalid_request, usage + ": " + target.error().message);
  protocol::MediationSpec spec;
  spec.port = *port;
  spec.target = target->host + ":" + std::to_string(target->port);
  spec.required = required;
  return spec;
}

}  // namespace microagent::net
