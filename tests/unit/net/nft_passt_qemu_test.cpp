// Golden tests of the pure network builders: nftables text, passt argv, QEMU netdev argv.
#include <gtest/gtest.h>

#include <algorithm>

#include "backends/linux_kvm/qemu_command.hpp"
#include "net/nft_rules.hpp"
#include "net/passt_command.hpp"

namespace microagent {
namespace {

TEST(NftRules, OneTablePerWorkspaceWithMasqueradeAndForward) {
  const auto text = net::nat_ruleset({"ma0123456789", "10.213.0.4/30"});
  EXPECT_EQ(text,
            "add table ip microagent_ma0123456789\n"
            "delete table ip microagent_ma0123456789\n"
            "table ip microagent_ma0123456789 {\n"
            "  chain postrouting {\n"
            "    type nat hook postrouting priority srcnat; policy accept;\n"
            "    ip saddr 10.213.0.4/30 oifname != \"ma0123456789\" masquerade\n"
            "  }\n"
            "  chain forward {\n"
            "    type filter hook forward priority filter; policy accept;\n"
            "    iifname \"ma0123456789\" ip saddr 10.213.0.4/30 accept\n"
            "    iifname \"ma0123456789\" drop\n"
            "    oifname \"ma0123456789\" ct state established,related accept\n"
            "    oifname \"ma0123456789\" drop\n"
            "  }\n"
            "}\n");
  EXPECT_EQ(net::nat_teardown("ma0123456789"),
            "add table ip microagent_ma0123456789\ndelete table ip microagent_ma0123456789\n");
}

TEST(PasstCommand, StaticAddressesDnsForwardAndNoInboundPorts) {
  net::PasstSpec spec;
  spec.dir = "/tmp/microagent-passt-1";
  spec.assignment.guest_address = "10.0.2.15";
  spec.assignment.prefix = 24;
  spec.assignment.gateway = "10.0.2.2";
  spec.assignment.dns = {"10.0.2.3"};
  const std::vector<std::string> want{"passt",     "--foreground", "--quiet", "--stderr", "--socket",
                                      "/tmp/microagent-passt-1/passt.sock", "--address", "10.0.2.15", "--netmask", "24",
                                      "--gateway", "10.0.2.2", "--dns-forward", "10.0.2.3", "--dns", "10.0.2.3",
                                      "-t", "none", "-u", "none", "--ipv4-only"};
  EXPECT_EQ(net::build_passt_argv(spec), want);
}

std::vector<std::string> tail_after(const std::vector<std::string>& argv, const std::string& flag) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i + 1 < argv.size(); ++i) {
    if (argv[i] == flag) out.push_back(argv[i + 1]);
  }
  return out;
}

TEST(QemuNetdev, PasstTapAndNone) {
  linux_kvm::QemuMachineSpec spec;
  spec.kernel = "/k";
  spec.initrd = "/i";
  EXPECT_TRUE(tail_after(linux_kvm::build_qemu_argv(spec), "-netdev").empty());  // isolated: no NIC at all

  spec.nic = linux_kvm::QemuNic{"passt", "/tmp/p/passt.sock", "", "02:6d:00:00:00:01"};
  auto argv = linux_kvm::build_qemu_argv(spec);
  EXPECT_EQ(tail_after(argv, "-netdev"),
            std::vector<std::string>{"stream,id=net0,server=off,addr.type=unix,addr.path=/tmp/p/passt.sock"});
  auto devices = tail_after(argv, "-device");
  EXPECT_NE(std::find(devices.begin(), devices.end(), "virtio-net-device,netdev=net0,mac=02:6d:00:00:00:01"), devices.end());

  spec.nic = linux_kvm::QemuNic{"tap", {}, "ma0123456789", ""};
  argv = linux_kvm::build_qemu_argv(spec);
  EXPECT_EQ(tail_after(argv, "-netdev"), std::vector<std::string>{"tap,id=net0,ifname=ma0123456789,script=no,downscript=no"});
  devices = tail_after(argv, "-device");
  EXPECT_NE(std::find(devices.begin(), devices.end(), "virtio-net-device,netdev=net0"), devices.end());
}

}  // namespace
}  // namespace microagent
