// user, nat and bridged guests reaching an "internet" peer. Everything (the
// supervisor, QEMU, passt, TAPs, nft) runs inside network namespaces this test
// creates, so the host's own network is never touched:
//   ns "host" (veth 198.51.100.1/24, default route via the peer)
//     <-> ns "inet" (198.51.100.2, busybox httpd on 8080)
// bridged: a bridge in ns "host" with a second veth whose far end (203.0.113.2)
// is in ns "inet".
#include <gtest/gtest.h>
#include <unistd.h>

#include <fmt/core.h>

#include <fstream>

#include "e2e_support.hpp"
#include "net/host_resolvers.hpp"
#include "network_support.hpp"

namespace microagent::e2e {
namespace {

using nlohmann::json;

class NetworkNamespaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(kernel_available()) << "run `build/bin/microagent kernel fetch`";
    id = std::to_string(::getpid() % 100000);
    host = "mah" + id;
    inet = "mai" + id;
    www = tmp.path / "www";
    std::filesystem::create_directories(www);
    std::ofstream(www / "index.html") << "internet page\n";
    std::string out;
    const std::string script = fmt::format(
        "set -e; ip netns add {h}; ip netns add {i};"
        "ip link add vh{id} type veth peer name vi{id};"
        "ip link set vh{id} netns {h}; ip link set vi{id} netns {i};"
        "ip -n {h} link set lo up; ip -n {i} link set lo up;"
        "ip -n {h} addr add 198.51.100.1/24 dev vh{id}; ip -n {h} link set vh{id} up;"
        "ip -n {i} addr add 198.51.100.2/24 dev vi{id}; ip -n {i} link set vi{id} up;"
        "ip -n {h} route add default via 198.51.100.2;"
        "ip link add bh{id} type veth peer name bi{id};"
        "ip link set bh{id} netns {h}; ip link set bi{id} netns {i};"
        "ip -n {h} link add br{id} type bridge; ip -n {h} link set br{id} up;"
        "ip -n {h} link set bh{id} master br{id}; ip -n {h} link set bh{id} up;"
        "ip -n {i} addr add 203.0.113.2/24 dev bi{id}; ip -n {i} link set bi{id} up;"
        "ip netns exec {i} busybox httpd -p 8080 -h {www}",  // daemonizes; dies with the namespace's cleanup below
        fmt::arg("h", host), fmt::arg("i", inet), fmt::arg("id", id), fmt::arg("www", www.string()));
    ASSERT_EQ(shell(script, &out), 0) << out;
  }
  void TearDown() override {
    in_host({"kill", "ws"});
    in_host({"delete", "ws"});
    shell(fmt::format("ip netns pids {i} | xargs -r kill; ip netns del {h}; ip netns del {i}", fmt::arg("h", host),
                      fmt::arg("i", inet)));
  }
  // `microagent ARGS` inside the "host" namespace.
  CliRun in_host(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"ip", "netns", "exec", host, (bin_dir() / "microagent").string(), "--state-dir", tmp.path.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    CliRun run;
    auto result = run_command(argv);
    if (!result) return run;
    run.exit_code = result->status.exit_code.value_or(-1);
    run.out = result->out;
    run.err = result->err;
    return run;
  }
  // Nothing of the workspace in the "host" namespace: no TAP, no nft table, no passt.
  void expect_clean(const json& network) {
    std::string links, rules;
    shell("ip -n " + host + " link", &links);
    shell("ip netns exec " + host + " nft list ruleset", &rules);
    const std::string tap = network.value("tap", "");
    if (!tap.empty()) {
      EXPECT_EQ(links.find(tap), std::string::npos) << links;
      EXPECT_EQ(rules.find(tap), std::string::npos) << rules;
    }
    EXPECT_EQ(rules.find("microagent"), std::string::npos) << rules;
    if (network.contains("passtDir")) {
      EXPECT_TRUE(processes_mentioning(network["passtDir"]).empty());
    }
  }
  TempDir tmp;
  std::string id, host, inet;
  std::filesystem::path www;
};

TEST_F(NetworkNamespaceTest, UserGuestFetchesFromThePeer) {
  auto run = in_host({"run", "--name", "ws", "--network", "user", "--", "wget", "-qO-", "http://198.51.100.2:8080/index.html"});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(run.out, "internet page\n");
  expect_clean(read_json(tmp.path / "ws" / "runtime.json")["network"]);
}

TEST_F(NetworkNamespaceTest, NatFailsClosedWithoutIpForwarding) {
  shell("ip netns exec " + host + " sysctl -qw net.ipv4.ip_forward=0");
  auto run = in_host({"run", "--name", "ws", "--network", "nat", "--", "true"});
  EXPECT_EQ(run.exit_code, 125);
  EXPECT_NE(run.err.find("net.ipv4.ip_forward=1"), std::string::npos) << run.err;
  std::string forward;
  shell("ip netns exec " + host + " cat /proc/sys/net/ipv4/ip_forward", &forward);
  EXPECT_EQ(forward, "0\n") << "microagent must never flip the sysctl";
}

TEST_F(NetworkNamespaceTest, NatGuestFetchesFromThePeerAndLeavesNoRules) {
  ASSERT_EQ(shell("ip netns exec " + host + " sysctl -qw net.ipv4.ip_forward=1"), 0);
  auto run = in_host({"run", "--name", "ws", "--network", "nat", "--", "sh", "-c",
                      "ip -o -4 addr show eth0; cat /etc/resolv.conf; wget -qO- http://198.51.100.2:8080/index.html"});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("internet page\n"), std::string::npos) << run.out;
  // The guest resolves through the host's own nameservers.
  for (const auto& server : net::host_nameservers_for_nat()) {
    EXPECT_NE(run.out.find("nameserver " + server + "\n"), std::string::npos) << run.out;
  }
  const json network = read_json(tmp.path / "ws" / "runtime.json")["network"];
  EXPECT_EQ(network["mode"], "nat");
  EXPECT_NE(run.out.find(network["address"].get<std::string>()), std::string::npos) << "static address from the lease";
  expect_clean(network);
}

TEST_F(NetworkNamespaceTest, NatStartedWorkspaceIsCleanedAfterKillNine) {
  ASSERT_EQ(shell("ip netns exec " + host + " sysctl -qw net.ipv4.ip_forward=1"), 0);
  auto start = in_host({"start", "ws", "--network", "nat"});
  ASSERT_EQ(start.exit_code, 0) << start.err;
  const json rt = read_json(tmp.path / "ws" / "runtime.json");
  std::string rules;
  shell("ip netns exec " + host + " nft list ruleset", &rules);
  EXPECT_NE(rules.find(rt["network"]["tap"].get<std::string>()), std::string::npos) << "rules exist while running";
  shell("kill -9 " + std::to_string(rt["qemuPid"].get<int>()));
  for (int i = 0; i < 100 && !read_json(tmp.path / "ws" / "runtime.json").value("qemuExited", false); ++i) ::usleep(100000);
  expect_clean(rt["network"]);
}

TEST_F(NetworkNamespaceTest, BridgedGuestReachesAPeerOnTheBridge) {
  auto run = in_host({"run", "--name", "ws", "--network", "bridged:br" + id, "--", "sh", "-c",
                      "ip addr add 203.0.113.10/24 dev eth0 && wget -qO- http://203.0.113.2:8080/index.html"});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(run.out, "internet page\n");
  expect_clean(read_json(tmp.path / "ws" / "runtime.json")["network"]);
}

TEST_F(NetworkNamespaceTest, BridgedFailsClosedOnAMissingOrNonBridgeInterface) {
  auto missing = in_host({"run", "--name", "ws", "--network", "bridged:nosuchbr", "--", "true"});
  EXPECT_EQ(missing.exit_code, 125);
  EXPECT_NE(missing.err.find("not_found"), std::string::npos) << missing.err;
  auto not_bridge = in_host({"run", "--name", "ws", "--network", "bridged:vh" + id, "--", "true"});
  EXPECT_EQ(not_bridge.exit_code, 125);
  EXPECT_NE(not_bridge.err.find("not a Linux bridge"), std::string::npos) << not_bridge.err;
}

}  // namespace
}  // namespace microagent::e2e
