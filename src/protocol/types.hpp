#pragma once
// The supervisor protocol's data (DESIGN.md section 2): identity, workspace
// config, lifecycle states, readiness and events. Plain types; JSON lives in
// protocol/json_codec.hpp.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace microagent::protocol {

struct Identity {
  std::string request_id;
  std::string runtime_id;
  std::string role = "workload";
  std::string backend;
};

struct DiskSpec {
  std::string path;
  std::string mode = "ro";  // "ro" | "rw"
  std::string mount;
};

struct PortForward {
  std::string host = "127.0.0.1";
  std::uint16_t host_port = 0;
  std::uint16_t guest_port = 0;
  std::string protocol = "tcp";
  // Binding beyond loopback (any host address outside 127.0.0.0/8) must be
  // asked for in so many words; inspect reports it in the manifest.
  bool exposed = false;
};

// How a guest reaches a network (docs/networking.md); parsed once, by the codec.
enum class NetworkMode { user, nat, isolated, bridged };

struct NetworkSpec {
  NetworkMode mode = NetworkMode::user;
  std::string interface;
  std::vector<PortForward> port_forwards;
};

struct MediationSpec {
  std::uint32_t port = 0;
  std::string target;
  bool required = true;
};

// The image a workspace boots (recorded in its manifest); the root disk itself is rootfsPath.
struct ImageRef {
  std::string reference;  // what the user named ("alpine:3.19", a path)
  std::string digest;     // "sha256:<hex>" of the image config
};

struct WorkspaceConfig {
  std::string state_dir;
  std::string kernel_path;
  std::string initrd_path;
  std::string rootfs_path;
  std::int64_t memory_mib = 256;
  std::int64_t cpu_count = 1;
  std::vector<std::string> command;
  std::map<std::string, std::string> env;
  std::string workdir = "/";
  std::string user;  // "uid[:gid]" or "name[:group]" in the guest; empty: root
  std::optional<ImageRef> image;
  std::vector<DiskSpec> disks;
  NetworkSpec network;
  std::optional<MediationSpec> mediation;
  std::uint32_t result_port = 1024;
  std::uint64_t output_limit = 1024 * 1024;  // bytes kept of stdout and of stderr, each
  std::int64_t timeout_seconds = 0;          // 0: no limit
};

enum class State { unknown, prepared, starting, running, stopping, halted, quarantined, stopped, failed };

struct ReadinessSignal {
  bool ready = false;
  std::string observed_at;
  std::string detail;
  std::string error;
};

struct Readiness {
  ReadinessSignal guest_ready, shell_ready, result_ready, mediation_ready;
};

struct Event {
  Identity identity;
  State state = State::unknown;
  std::string observed_at;
  std::string detail;
  std::optional<nlohmann::json> result;  // the guest's structured result
  std::optional<Readiness> readiness;
  // inspect: the workspace manifest (image, kernel, rootfs, guest init with
  // SHA-256); with "verify":true, recomputed and compared ("divergences").
  std::optional<nlohmann::json> manifest;
};

enum class Command { host, check, prepare, run, start, inspect, halt, quarantine, stop, kill, remove, console };

// Per-command fields beyond identity and config, type-checked once by the
// codec (parse_request): backends read these, never the request's JSON.
struct RequestOptions {
  std::int64_t grace_seconds = 2;            // halt: options.graceSeconds, 0..600
  bool no_capture = false;                   // quarantine: options.noCapture
  bool verify = false;                       // inspect (status): "verify"
  std::optional<std::string> console_input;  // console: "input"
  std::optional<std::string> host_state_dir; // host (doctor): the top-level "stateDir", absolute
};

struct Request {
  Command command = Command::host;
  std::optional<Identity> identity;
  std::optional<WorkspaceConfig> config;
  RequestOptions options;
};

}  // namespace microagent::protocol
