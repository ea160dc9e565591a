#include "net/nft_rules.hpp"

#include <fmt/core.h>

namespace microagent::net {

std::string nat_table_name(const std::string& tap) { return "microagent_" + tap; }

std::string nat_ruleset(const NatRules& r) {
  const auto table = nat_table_name(r.tap);
  // "add table" then "delete table" first makes a stale table from a crashed
  // run disappear; the whole file is one atomic transaction.
  return fmt::format(
      "add table ip {0}\n"
      "delete table ip {0}\n"
      "table ip {0} {{\n"
      "  chain postrouting {{\n"
      "    type nat hook postrouting priority srcnat; policy accept;\n"
      "    ip saddr {2} oifname != \"{1}\" masquerade\n"
      "  }}\n"
      "  chain forward {{\n"
      "    type filter hook forward priority filter; policy accept;\n"
      "    iifname \"{1}\" ip saddr {2} accept\n"
      "    iifname \"{1}\" drop\n"
      "    oifname \"{1}\" ct state established,related accept\n"
      "    oifname \"{1}\" drop\n"
      "  }}\n"
      "}}\n",
      table, r.tap, r.subnet);
}

std::string nat_teardown(const std::string& tap) {
  const auto table = nat_table_name(tap);
  return fmt::format("add table ip {0}\ndelete table ip {0}\n", table);
}

}  // namespace microagent::net
