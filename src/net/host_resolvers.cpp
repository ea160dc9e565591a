#include "net/host_resolvers.hpp"

#include <arpa/inet.h>

#include <fstream>
#include <sstream>

namespace microagent::net {

std::vector<std::string> guest_reachable_nameservers(std::string_view resolv_conf) {
  std::vector<std::string> servers;
  std::istringstream lines{std::string(resolv_conf)};
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string keyword, address;
    if (!(words >> keyword >> address) || keyword != "nameserver") continue;
    in_addr parsed{};
    if (::inet_pton(AF_INET, address.c_str(), &parsed) != 1) continue;  // IPv6: the guest is IPv4 only
    if ((ntohl(parsed.s_addr) >> 24) == 127) continue;
    servers.push_back(address);
  }
  if (servers.empty()) servers.push_back(kFallbackDns);
  return servers;
}

std::vector<std::string> host_nameservers_for_nat() {
  std::ifstream in("/etc/resolv.conf");
  std::stringstream text;
  text << in.rdbuf();
  return guest_reachable_nameservers(in ? text.str() : "");
}

}  // namespace microagent::net
