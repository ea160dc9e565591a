#include "net/host_resolvers.hpp"

#include <gtest/gtest.h>

namespace microagent::net {
namespace {

using Servers = std::vector<std::string>;

TEST(HostResolvers, KeepsTheHostsIpv4NameserversInOrder) {
  EXPECT_EQ(guest_reachable_nameservers("# generated\nsearch corp.example\nnameserver 10.255.255.53\n"
                                        "nameserver\t192.168.1.1  # second\noptions edns0\n"),
            (Servers{"10.255.255.53", "192.168.1.1"}));
}

TEST(HostResolvers, DropsLoopbackStubsAndIpv6) {
  // systemd-resolved's stub listens on the host's loopback: unreachable from a guest.
  EXPECT_EQ(guest_reachable_nameservers("nameserver 127.0.0.53\nnameserver ::1\nnameserver fd00::1\n"
                                        "nameserver 9.9.9.9\n"),
            Servers{"9.9.9.9"});
}

TEST(HostResolvers, FallsBackWhenNothingIsUsable) {
  EXPECT_EQ(guest_reachable_nameservers(""), Servers{kFallbackDns});
  EXPECT_EQ(guest_reachable_nameservers("nameserver 127.0.0.1\nnameserver not-an-address\nnameservers 8.8.8.8\n"),
            Servers{kFallbackDns});
}

}  // namespace
}  // namespace microagent::net
