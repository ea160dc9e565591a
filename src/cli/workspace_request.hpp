#pragma once
// Turns CLI flags into a typed supervisor request (DESIGN.md section 2); the
// JSON comes from protocol::to_json, never from here. Pure.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/disk_flags.hpp"
#include "common/error.hpp"
#include "protocol/types.hpp"

namespace microagent::cli {

struct WorkspaceRequestInput {
  std::string state_dir;
  std::string name;
  std::string backend = "linux-kvm";
  std::int64_t memory_mib = 256;
  std::int64_t cpus = 1;
  std::vector<std::string> env;  // "K=V"
  std::string workdir = "/";
  std::int64_t timeout_seconds = 0;
  std::uint64_t output_limit = 1024 * 1024;
  std::vector<std::string> command;
  std::filesystem::path kernel;
  std::filesystem::path initrd;
  std::filesystem::path rootfs;  // an image's cached root disk; empty: initramfs only
  std::string image_reference;
  std::string image_digest;
  std::string user;
  std::vector<DiskFlag> disks;   // --disk entries, then the built --volume disks
};

// A request for `command` on workspace `name`: a fresh requestID, the backend,
// and `config` (for commands that only name a workspace, just its stateDir).
protocol::Request make_request(protocol::Command command, const std::string& name, const std::string& backend,
                               protocol::WorkspaceConfig config, protocol::RequestOptions options = {});

// The request for run/create/start from flags; invalid_request for a bad name
// or an env entry without '='.
Result<protocol::Request> build_workspace_request(protocol::Command command, const WorkspaceRequestInput& input);

}  // namespace microagent::cli
