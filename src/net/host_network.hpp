#pragma once
// Host-side network objects of nat and bridged workspaces: persistent TAP
// devices (/dev/net/tun), their addresses and bridge membership (ioctls), and
// nftables tables (`nft -f -`). Plus the preflight checks that make nat and
// bridged fail closed before boot, each naming the fix.
#include <string>

#include "common/error.hpp"
#include "net/network_plan.hpp"

namespace microagent::net {

// CAP_NET_ADMIN, /dev/net/tun, net.ipv4.ip_forward=1 (never changed by us), nft.
Result<void> check_nat_host();
// CAP_NET_ADMIN, /dev/net/tun, `bridge` exists and is a Linux bridge.
Result<void> check_bridged_host(const std::string& bridge);

// A persistent TAP named `name` (QEMU opens it by name), link up.
Result<void> create_tap(const std::string& name);
// Gives the TAP an IPv4 address (nat: the guest's gateway).
Result<void> set_interface_address(const std::string& name, const std::string& address, int prefix);
Result<void> attach_to_bridge(const std::string& name, const std::string& bridge);
// Deletes the TAP; no error when it is gone already.
void delete_tap(const std::string& name);

Result<void> apply_nat_rules(const std::string& tap, const std::string& subnet);
void remove_nat_rules(const std::string& tap);

bool interface_exists(const std::string& name);

}  // namespace microagent::net
