#pragma once
// nftables text for a nat workspace. Pure. Each workspace gets its own table,
// so teardown is one `delete table` that removes exactly what was added:
//   table ip microagent_<tap>: postrouting masquerade of the workspace subnet,
//   forward: the TAP's traffic out, replies back in, nothing else in.
#include <string>

namespace microagent::net {

struct NatRules {
  std::string tap;     // e.g. ma0123456789
  std::string subnet;  // e.g. 10.213.0.4/30
};

std::string nat_table_name(const std::string& tap);
// Input for `nft -f -`: creates the table (replacing a stale one of the same name).
std::string nat_ruleset(const NatRules& rules);
// Input for `nft -f -`: removes the table; harmless when it is already gone.
std::string nat_teardown(const std::string& tap);

}  // namespace microagent::net
