#pragma once
// What travels between host and guest init: the workload config (host -> guest,
// on the kernel command line or in /microagent/config.json in the initramfs)
// and the workload result (guest -> host, JSON over AF_VSOCK to CID 2, port
// resultPort). Shared by the host and the static guest init, so it depends on
// common alone.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace microagent {

// Fixed vsock ports of DESIGN.md section 4.
inline constexpr std::uint32_t kResultPort = 1024;
inline constexpr std::uint32_t kConnectPort = 1025;
inline constexpr std::uint32_t kControlPort = 1026;

// The host's halt command on the control port: guest init gives every process
// `grace` between SIGTERM and SIGKILL (guestinit/control_channel.hpp parses it).
std::string halt_command_line(std::chrono::milliseconds grace);
inline constexpr std::uint32_t kHostCid = 2;

// Default bound on captured stdout and on stderr, each.
inline constexpr std::uint64_t kDefaultOutputLimit = 1024 * 1024;

// The kernel command line parameter that carries the config (base64url JSON).
inline constexpr const char* kCmdlineConfigKey = "microagent.config";
// Linux x86 COMMAND_LINE_SIZE is 2048; past this budget the config goes into the initramfs.
inline constexpr std::size_t kCmdlineConfigBudget = 1536;
inline constexpr const char* kInitramfsConfigPath = "microagent/config.json";
inline constexpr const char* kInitramfsModulesOrderPath = "microagent/modules.order";

struct GuestDisk {
  std::string device;  // "/dev/vdb"
  std::string mount;   // "/data"
  bool read_only = false;
};

// --publish as guest init serves it: a host connection arrives on AF_VSOCK
// port vsock_port and is relayed to 127.0.0.1:guest_port in the guest.
struct GuestPortForward {
  std::uint32_t vsock_port = 0;
  std::uint16_t guest_port = 0;
};

// The guest's network as guest init sets it up: `lo` always; when `interface`
// is set, that NIC gets address/prefix, a default route via gateway and
// /etc/resolv.conf from dns. mediation_port (0: none) is the vsock port of the
// host mediation channel, also offered on 127.0.0.1:<port> in the guest.
struct GuestNetwork {
  std::string mode = "isolated";  // informational: user | nat | isolated | bridged
  std::string interface;          // "eth0"; empty: no NIC
  std::string address;            // IPv4 dotted quad
  int prefix = 0;
  std::string gateway;
  std::vector<std::string> dns;
  std::vector<GuestPortForward> forwards;
  std::uint32_t mediation_port = 0;
};

struct GuestConfig {
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;
  std::string workdir = "/";
  std::string hostname = "microagent";
  // Who runs the workload: "uid[:gid]" or "name[:group]" resolved in the guest's
  // /etc/passwd and /etc/group (the image's User); empty: root.
  std::string user;
  std::uint32_t result_port = kResultPort;
  std::uint64_t output_limit = kDefaultOutputLimit;
  // Root disk to switch_root into; empty: run the workload from the initramfs.
  std::string root_device;
  std::vector<GuestDisk> disks;
  // Started workspaces: after the workload (if argv is set) guest init stays up,
  // serving connect (port 1025) and control (port 1026) until halted. argv may
  // then be empty: no workload, no result.
  bool keep_alive = false;
  GuestNetwork network;
};

struct GuestResult {
  std::optional<int> exit_code;    // set when the workload exited normally
  std::optional<int> signal;       // set when it was killed by a signal
  std::string stdout_data;         // raw bytes (base64 on the wire)
  std::string stderr_data;
  bool stdout_truncated = false;
  bool stderr_truncated = false;
  std::uint64_t stdout_bytes = 0;  // total produced, including what was cut
  std::uint64_t stderr_bytes = 0;
  std::string error;               // non-empty when guest init could not run the workload
  std::string started_at;          // RFC3339, guest clock
  std::string finished_at;
  std::uint64_t duration_ms = 0;
  std::string kernel_release;      // uname -r inside the guest
};

std::string guest_config_to_json(const GuestConfig& config);
Result<GuestConfig> guest_config_from_json(const std::string& text);
std::string guest_result_to_json(const GuestResult& result);
Result<GuestResult> guest_result_from_json(const std::string& text);

// "microagent.config=<base64url(json)>", or nullopt when it does not fit the budget.
std::optional<std::string> encode_config_cmdline_param(const GuestConfig& config);
// Finds and decodes the config parameter in a full kernel command line.
Result<GuestConfig> decode_config_from_cmdline(const std::string& cmdline);

}  // namespace microagent
