#pragma once
// The DNS servers a `nat` guest gets: the host's own, as Docker's default
// bridge does, so a guest resolves what the host resolves (split DNS, a
// corporate resolver) instead of a public resolver the network may block.
#include <string>
#include <string_view>
#include <vector>

namespace microagent::net {

// Used when the host has no nameserver a guest can reach.
inline constexpr const char* kFallbackDns = "1.1.1.1";

// The IPv4 `nameserver` entries of resolv.conf text, in order, without
// loopback ones (127.0.0.0/8: a local stub like systemd-resolved's 127.0.0.53
// listens on the host's loopback, which the guest's subnet cannot reach).
// kFallbackDns when none is left.
std::vector<std::string> guest_reachable_nameservers(std::string_view resolv_conf);

// guest_reachable_nameservers() of /etc/resolv.conf (kFallbackDns if unreadable).
std::vector<std::string> host_nameservers_for_nat();

}  // namespace microagent::net
