// The default guest fetches over HTTP from a server on the host's loopback in
// `user` (passt) mode, with busybox wget and nc; a client that half-closes
// first gets the server's reply and FIN (Debian 12's passt never sent that
// FIN: scripts/fetch-passt builds one that does); a closed host port is
// refused at once (passt's bare RST made connect() hang for two minutes
// before the guest's RST-ACK fix-up). Every run has --timeout.
// No `wget -T`: busybox 1.35's wget segfaults with -T when the connect fails.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "e2e_support.hpp"
#include "net/passt_binary.hpp"
#include "network_support.hpp"

namespace microagent::e2e {
namespace {

const std::string kBody = "fetched-from-host-loopback-7d1c\n";

class GuestHttpFetchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!kernel_available()) GTEST_SKIP() << "no cached kernel: run `build/bin/microagent kernel fetch`";
    if (!net::locate_passt()) GTEST_SKIP() << "passt is not installed (user networking needs it)";
  }
  // A host fact: the passt this host runs must relay the server's FIN to a
  // guest that half-closed first (Debian 12's does not).
  void require_half_close_relay() {
    auto passt = net::locate_passt();
    if (passt->origin == "scripts/fetch-passt") return;
    std::string version;
    shell("'" + passt->path + "' --version 2>&1", &version);
    if (!net::passt_version_relays_half_close(version)) {
      GTEST_SKIP() << passt->path << " predates passt 2025-05-03 and hangs half-closed guest clients: "
                   << "run ./scripts/fetch-passt";
    }
  }
  CliRun run_guest(const std::string& script) {
    return run_cli(tmp.path, {"run", "--network", "user", "--timeout", "120", "--", "sh", "-c", script});
  }
  TempDir tmp;
};

TEST_F(GuestHttpFetchTest, WgetAndNcFetchTheBodyFromHostLoopback) {
  require_half_close_relay();
  const std::uint16_t port = free_port();
  HttpServer server(port, kBody);
  ASSERT_TRUE(server.ok()) << "cannot listen on 127.0.0.1:" << port;
  const std::string p = std::to_string(port);
  // Five of each, back to back: with Debian 12's passt every second nc hung
  // (its FIN went out before it had read the reply, and passt then never
  // sent the server's FIN). Each is bounded by `timeout`, so a hang fails fast.
  auto run = run_guest("for i in 1 2 3 4 5; do timeout 20 wget -q -O - http://10.0.2.2:" + p +
                       "/ || echo wget-failed-$i; done; for i in 1 2 3 4 5; do printf 'GET / HTTP/1.0\\r\\n\\r\\n' "
                       "| timeout 20 nc 10.0.2.2 " + p + " || echo nc-failed-$i; done");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(run.out.find("failed"), std::string::npos) << run.out;
  std::string wgets, ncs;
  for (int i = 0; i < 5; ++i) wgets += kBody;
  EXPECT_EQ(run.out.rfind(wgets + "HTTP/1.0 200 OK\r\n", 0), 0u) << "wget prints exactly the body: " << run.out;
  std::size_t replies = 0;
  for (auto at = run.out.find("\r\n\r\n" + kBody); at != std::string::npos; at = run.out.find("\r\n\r\n" + kBody, at + 1)) {
    ++replies;
  }
  EXPECT_EQ(replies, 5u) << "each nc sees the raw reply: " << run.out;
}

TEST_F(GuestHttpFetchTest, AServerThatAnswersAtEofReachesAHalfClosedClient) {
  require_half_close_relay();
  const std::uint16_t port = free_port();
  // Reads to EOF (the guest's FIN), then answers: everything it sends comes
  // after passt has the guest's FIN, the path Debian 12's passt dropped.
  LoopbackServer server(port, "", [](const std::string& read) { return "got " + std::to_string(read.size()) + " bytes\n"; });
  ASSERT_TRUE(server.ok()) << "cannot listen on 127.0.0.1:" << port;
  auto run = run_guest("for i in 1 2 3; do head -c 5000 /dev/zero | timeout 20 nc 10.0.2.2 " + std::to_string(port) +
                       " || echo nc-failed-$i; done");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(run.out, "got 5000 bytes\ngot 5000 bytes\ngot 5000 bytes\n") << run.err;
}

TEST_F(GuestHttpFetchTest, ClosedHostPortIsRefusedAtOnce) {
  const std::uint16_t port = free_port();  // nothing listens on it
  ASSERT_FALSE(tcp_port_open(port)) << "something listens on " << port;
  const std::string p = std::to_string(port);
  // Times are taken inside the guest, so boot time under TCG does not count.
  auto run = run_guest("t0=$(date +%s); nc -w 30 10.0.2.2 " + p + " </dev/null; echo nc=$?; t1=$(date +%s);"
                       " wget -O - http://10.0.2.2:" + p + "/; echo wget=$?; t2=$(date +%s);"
                       " echo nc_s=$((t1 - t0)) wget_s=$((t2 - t1))");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("nc=1\n"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("wget=1\n"), std::string::npos) << run.out;
  EXPECT_NE(run.err.find("Connection refused"), std::string::npos) << "refused, not timed out: " << run.err;
  const auto at = run.out.find("nc_s=");
  ASSERT_NE(at, std::string::npos) << run.out;
  int nc_s = 99, wget_s = 99;
  ASSERT_EQ(std::sscanf(run.out.c_str() + at, "nc_s=%d wget_s=%d", &nc_s, &wget_s), 2) << run.out;
  EXPECT_LE(nc_s, 3) << "nc to a closed port must fail fast";
  EXPECT_LE(wget_s, 3) << "wget to a closed port must fail fast";
}

TEST_F(GuestHttpFetchTest, LocalhostResolvesWithoutDns) {
  // Nothing listens on the guest's port 1: "refused" proves the name resolved
  // (without /etc/hosts it was "bad address" after passt's DNS timed out).
  auto run = run_guest("cat /etc/hosts; t0=$(date +%s); wget -O - http://localhost:1/; echo wget=$?;"
                       " echo took=$(( $(date +%s) - t0 ))");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("127.0.0.1\tlocalhost\n"), std::string::npos) << run.out;
  EXPECT_NE(run.err.find("Connection refused"), std::string::npos) << run.err;
  EXPECT_EQ(run.err.find("bad address"), std::string::npos) << run.err;
  const auto at = run.out.find("took=");
  ASSERT_NE(at, std::string::npos) << run.out;
  EXPECT_LE(std::atoi(run.out.c_str() + at + 5), 2) << "no DNS round trip for localhost";
}

}  // namespace
}  // namespace microagent::e2e
