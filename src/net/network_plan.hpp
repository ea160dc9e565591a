#pragma once
// What a workspace's network is, decided before anything is created. Pure:
// validation of the config (fails closed before boot), the addresses the guest
// gets in each mode, and the guest init's network section.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/guest_wire.hpp"
#include "net/subnet_pool.hpp"
#include "protocol/types.hpp"

namespace microagent::net {

// Vsock ports guest init and the shim own already (DESIGN.md section 4):
// a publish or mediation port may not reuse them.
inline constexpr std::uint32_t kReservedVsockPorts[] = {1024, 1025, 1026};

// The guest NIC's name as the kernel assigns it (first virtio-net device).
inline constexpr const char* kGuestInterface = "eth0";

// passt's view of the guest in `user` mode: the slirp-style addresses every
// user-mode guest gets (passt NATs them to the host's own address).
inline constexpr const char* kUserGuestAddress = "10.0.2.15";
inline constexpr int kUserPrefix = 24;
inline constexpr const char* kUserGateway = "10.0.2.2";
inline constexpr const char* kUserDns = "10.0.2.3";  // passt --dns-forward: to the host's resolver

// Everything the host sets up for one workspace's network, and what it reports
// (runtime.json "network", `microagent network NAME`).
struct NetworkAssignment {
  protocol::NetworkMode mode = protocol::NetworkMode::isolated;
  std::string tap;             // nat, bridged: the host TAP device
  std::string bridge;          // bridged: the Linux bridge the TAP joins
  std::string subnet;          // nat: "10.213.0.4/30"
  std::string host_address;    // nat: the TAP's address (the guest's gateway)
  std::string guest_address;   // empty for bridged without static config, isolated
  int prefix = 0;
  std::string gateway;
  std::vector<std::string> dns;
  std::string mac;             // the guest NIC's MAC address
  std::vector<protocol::PortForward> forwards;
};

// Pure checks of config.network and config.mediation: isolated + publish,
// bridged without an interface, duplicate or reserved ports. invalid_request.
Result<void> validate_network_config(const protocol::WorkspaceConfig& config);

// Stable per-workspace names: the TAP ("ma" + 10 hex digits, under IFNAMSIZ)
// and a locally administered MAC, both from the runtime directory.
std::string tap_name_for(const std::string& runtime_key);
std::string mac_for(const std::string& runtime_key);

// The assignment for a validated config. nat needs its allocated subnet.
NetworkAssignment plan_assignment(const protocol::WorkspaceConfig& config, const std::string& runtime_key,
                                  const std::optional<Ipv4Subnet>& nat_subnet = std::nullopt);

// What guest init does with it (interface, address, route, DNS, forwards, mediation).
GuestNetwork guest_network_for(const NetworkAssignment& assignment, const protocol::WorkspaceConfig& config);

nlohmann::json assignment_to_json(const NetworkAssignment& assignment);
NetworkAssignment assignment_from_json(const nlohmann::json& json);

}  // namespace microagent::net
