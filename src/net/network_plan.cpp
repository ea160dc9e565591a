#include "net/network_plan.hpp"

#include <algorithm>
#include <functional>
#include <set>

#include <fmt/core.h>

#include "net/host_resolvers.hpp"
#include "protocol/json_codec.hpp"

namespace microagent::net {

using nlohmann::json;
using protocol::NetworkMode;

Result<void> validate_network_config(const protocol::WorkspaceConfig& config) {
  const auto& net = config.network;
  if (net.mode == NetworkMode::isolated && !net.port_forwards.empty()) {
    return fail(ErrorCode::invalid_request,
                "--publish needs a network: an isolated workspace has none (drop --publish or use --network user)");
  }
  if (net.mode == NetworkMode::bridged && net.interface.empty()) {
    return fail(ErrorCode::invalid_request, "bridged networking needs the bridge's name in config.network.interface "
                                            "(--network bridged:BRIDGE)");
  }
  std::set<std::uint32_t> ports;
  for (const auto& f : net.port_forwards) {
    if (f.protocol != "tcp") return fail(ErrorCode::invalid_request, "only tcp can be published, not " + f.protocol);
    if (f.host_port == 0 || f.guest_port == 0) return fail(ErrorCode::invalid_request, "published ports must be 1-65535");
    if (std::ranges::find(kReservedVsockPorts, f.host_port) != std::end(kReservedVsockPorts)) {
      return fail(ErrorCode::invalid_request, fmt::format("host port {} is reserved for microagent's own vsock channels "
                                                          "(1024-1026): publish on another host port", f.host_port));
    }
    if (!ports.insert(f.host_port).second) {
      return fail(ErrorCode::invalid_request, fmt::format("host port {} is published twice", f.host_port));
    }
  }
  if (config.mediation) {
    const auto port = config.mediation->port;
    if (port == 0) return fail(ErrorCode::invalid_request, "config.mediation.port must be positive");
    if (std::ranges::find(kReservedVsockPorts, port) != std::end(kReservedVsockPorts) || port == config.result_port) {
      return fail(ErrorCode::invalid_request, fmt::format("mediation port {} is reserved for microagent's own vsock channels", port));
    }
    if (ports.contains(port)) {
      return fail(ErrorCode::invalid_request, fmt::format("mediation port {} is also a published host port", port));
    }
    if (config.mediation->target.find(':') == std::string::npos) {
      return fail(ErrorCode::invalid_request, "config.mediation.target must look like HOST:PORT");
    }
  }
  return {};
}

std::string tap_name_for(const std::string& runtime_key) {
  return fmt::format("ma{:010x}", std::hash<std::string>{}(runtime_key) & 0xffffffffffull);
}

std::string mac_for(const std::string& runtime_key) {
  const auto h = std::hash<std::string>{}("mac:" + runtime_key);
  // 0x02: locally administered, unicast.
  return fmt::format("02:6d:{:02x}:{:02x}:{:02x}:{:02x}", (h >> 24) & 0xff, (h >> 16) & 0xff, (h >> 8) & 0xff, h & 0xff);
}

NetworkAssignment plan_assignment(const protocol::WorkspaceConfig& config, const std::string& runtime_key,
                                  const std::optional<Ipv4Subnet>& nat_subnet) {
  NetworkAssignment a;
  a.mode = config.network.mode;
  a.forwards = config.network.port_forwards;
  if (a.mode == NetworkMode::isolated) return a;
  a.mac = mac_for(runtime_key);
  if (a.mode == NetworkMode::user) {
    a.guest_address = kUserGuestAddress;
    a.prefix = kUserPrefix;
    a.gateway = kUserGateway;
    a.dns = {kUserDns};
  } else if (a.mode == NetworkMode::nat) {
    a.tap = tap_name_for(runtime_key);
    if (nat_subnet) {
      a.subnet = nat_subnet->to_string();
      a.prefix = nat_subnet->prefix;
      a.host_address = ipv4_to_string(nat_subnet->host(1));
      a.guest_address = ipv4_to_string(nat_subnet->host(2));
      a.gateway = a.host_address;
      // The caller swaps in the host's own nameservers (host_resolvers.hpp).
      a.dns = {kFallbackDns};
    }
  } else if (a.mode == NetworkMode::bridged) {
    a.tap = tap_name_for(runtime_key);
    a.bridge = config.network.interface;
  }
  return a;
}

GuestNetwork guest_network_for(const NetworkAssignment& a, const protocol::WorkspaceConfig& config) {
  GuestNetwork n;
  n.mode = std::string(protocol::to_string(a.mode));
  if (a.mode != NetworkMode::isolated) {
    n.interface = kGuestInterface;
    n.address = a.guest_address;
    n.prefix = a.prefix;
    n.gateway = a.gateway;
    n.dns = a.dns;
    // Bridged without static addresses: the NIC comes up unconfigured (the
    // workload may run a DHCP client of its own).
    if (n.address.empty()) n.prefix = 0;
  }
  for (const auto& f : a.forwards) n.forwards.push_back({f.host_port, f.guest_port});
  if (config.mediation) n.mediation_port = config.mediation->port;
  return n;
}

json assignment_to_json(const NetworkAssignment& a) {
  json forwards = json::array();
  for (const auto& f : a.forwards) {
    forwards.push_back({{"host", f.host}, {"hostPort", f.host_port}, {"guestPort", f.guest_port}, {"protocol", f.protocol}});
  }
  return {{"mode", protocol::to_string(a.mode)},       {"tap", a.tap},         {"bridge", a.bridge},   {"subnet", a.subnet},
          {"hostAddress", a.host_address}, {"address", a.guest_address}, {"prefix", a.prefix},
          {"gateway", a.gateway}, {"dns", a.dns},         {"mac", a.mac},         {"forwards", forwards}};
}

NetworkAssignment assignment_from_json(const json& j) {
  NetworkAssignment a;
  if (!j.is_object()) return a;
  auto text = [&](const char* key) { return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string(); };
  a.mode = protocol::network_mode_from_string(text("mode")).value_or(NetworkMode::isolated);
  a.tap = text("tap");
  a.bridge = text("bridge");
  a.subnet = text("subnet");
  a.host_address = text("hostAddress");
  a.guest_address = text("address");
  a.gateway = text("gateway");
  a.mac = text("mac");
  if (j.contains("prefix") && j["prefix"].is_number_integer()) a.prefix = j["prefix"];
  if (j.contains("dns") && j["dns"].is_array()) {
    for (const auto& d : j["dns"]) {
      if (d.is_string()) a.dns.push_back(d);
    }
  }
  if (j.contains("forwards") && j["forwards"].is_array()) {
    for (const auto& f : j["forwards"]) {
      if (!f.is_object()) continue;
      protocol::PortForward pf;
      pf.host = f.value("host", std::string("127.0.0.1"));
      pf.host_port = f.value("hostPort", std::uint16_t{0});
      pf.guest_port = f.value("guestPort", std::uint16_t{0});
      pf.protocol = f.value("protocol", std::string("tcp"));
      a.forwards.push_back(pf);
    }
  }
  return a;
}

}  // namespace microagent::net
