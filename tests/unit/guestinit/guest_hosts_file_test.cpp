#include <gtest/gtest.h>

#include "guestinit/guest_network.hpp"

namespace microagent::guestinit {
namespace {

TEST(GuestHostsFile, LocalhostForBothFamiliesAndTheHostname) {
  EXPECT_EQ(hosts_file_text("microagent"),
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\tmicroagent\n");
}

TEST(GuestHostsFile, NoHostnameLineWhenThereIsNothingToAdd) {
  EXPECT_EQ(hosts_file_text(""), "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
  EXPECT_EQ(hosts_file_text("localhost"), hosts_file_text(""));
}

}  // namespace
}  // namespace microagent::guestinit
