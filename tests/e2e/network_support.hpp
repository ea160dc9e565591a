#pragma once
// Helpers for the networking end-to-end tests: raw HTTP GETs from the host,
// a loopback echo server, and "nothing of this workspace is left" checks.
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/unique_fd.hpp"

namespace microagent::e2e {

// "GET /path HTTP/1.0" to 127.0.0.1:port; the body, or "" on any failure.
std::string http_get(std::uint16_t port, const std::string& path);
// The same deterministic 1 MiB the guest writes with `seq 1 200000 | head -c 1048576`.
std::string seq_mebibyte();
// Shell text run in the guest to serve that file on `guest_port` with busybox httpd.
std::string httpd_workload(int guest_port);

// A port derived from the test process, so parallel test processes never collide.
std::uint16_t test_port(int offset);
bool tcp_port_open(std::uint16_t port);

// A TCP echo server on 127.0.0.1:port that prefixes "echo:" to what it read (to EOF or newline).
class EchoServer {
 public:
  explicit EchoServer(std::uint16_t port);
  ~EchoServer();
  bool ok() const { return pid_ > 0; }

 private:
  pid_t pid_ = -1;
};

// Processes whose command line mentions `needle` (passt for a workspace, ...).
std::vector<pid_t> processes_mentioning(const std::string& needle);
// `ip link` and `nft list ruleset` mention `needle`.
bool host_network_mentions(const std::string& needle);
// Runs `sh -c script`, returns its exit code (stdout+stderr in *output when given).
int shell(const std::string& script, std::string* output = nullptr);

}  // namespace microagent::e2e
