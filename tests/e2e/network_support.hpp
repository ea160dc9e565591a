#pragma once
// Helpers for the networking end-to-end tests: raw HTTP GETs from the host,
// a loopback echo server, and "nothing of this workspace is left" checks.
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
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

// A loopback TCP port nothing listened on a moment ago: the kernel picks it
// (bind to port 0), so parallel test processes do not collide; never the same
// port twice in one process.
std::uint16_t free_port();
bool tcp_port_open(std::uint16_t port);

// A TCP server on 127.0.0.1:port, in a child process (the test's threads and
// the CLI's children never touch it). Per connection: reads until `end` shows
// up (to EOF when `end` is empty), writes reply(what it read), closes.
class LoopbackServer {
 public:
  LoopbackServer(std::uint16_t port, std::string end, std::function<std::string(const std::string&)> reply);
  ~LoopbackServer();
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;
  bool ok() const { return pid_ > 0; }

 private:
  pid_t pid_ = -1;
};

// Prefixes "echo:" to what it read up to a newline (or EOF).
class EchoServer : public LoopbackServer {
 public:
  explicit EchoServer(std::uint16_t port);
};

// HTTP/1.0: answers every request (read to its blank line) with 200 and `body`.
class HttpServer : public LoopbackServer {
 public:
  HttpServer(std::uint16_t port, const std::string& body);
};

// Processes whose command line mentions `needle` (passt for a workspace, ...).
std::vector<pid_t> processes_mentioning(const std::string& needle);
// `ip link` and `nft list ruleset` mention `needle`.
bool host_network_mentions(const std::string& needle);
// Runs `sh -c script`, returns its exit code (stdout+stderr in *output when given).
int shell(const std::string& script, std::string* output = nullptr);

}  // namespace microagent::e2e
