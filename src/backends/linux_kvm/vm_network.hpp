#pragma once
// The host side of one VM's network, owned by whoever owns QEMU (the shim for
// started workspaces, the supervisor for `run`): passt for `user`, a TAP plus
// an nftables table for `nat`, a TAP on an existing bridge for `bridged`,
// nothing for `isolated`. Created before QEMU, torn down after it (or when
// quarantine severs it); what was created is recorded in runtime.json so a
// later command can clean up after a shim that died.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "backends/linux_kvm/qemu_command.hpp"
#include "common/error.hpp"
#include "common/process.hpp"
#include "net/network_plan.hpp"
#include "protocol/types.hpp"
#include "supervisor/runtime_record.hpp"

namespace microagent::linux_kvm {

// Host-wide nat subnet leases (never per state dir: two state dirs share one host's routes).
std::filesystem::path nat_leases_dir();

// Before anything is created: the config is valid, the host can do the mode
// (nat: CAP_NET_ADMIN, ip_forward, nft; bridged: the bridge; user: passt), a
// required mediation target answers. No side effects. Fails closed with the fix named.
Result<void> preflight_network(const protocol::WorkspaceConfig& config);
// The assignment for a preflighted config; nat leases its subnet here.
Result<net::NetworkAssignment> assign_network(const protocol::WorkspaceConfig& config, const std::string& runtime_key);

// A required mediation target must accept a TCP connection now.
Result<void> probe_mediation(const protocol::WorkspaceConfig& config);

class VmNetwork {
 public:
  // `tied_to_owner`: a foreground run's passt dies with the run (net::PasstSpec::exit_with_client).
  static Result<std::unique_ptr<VmNetwork>> attach(const net::NetworkAssignment& assignment, const std::string& runtime_key,
                                                   bool tied_to_owner = false);
  ~VmNetwork();
  VmNetwork(const VmNetwork&) = delete;
  VmNetwork& operator=(const VmNetwork&) = delete;

  std::optional<QemuNic> nic() const;
  // Tears everything down (idempotent): passt killed, TAP and nft table deleted, lease released.
  void detach();
  // For runtime.json "network": the assignment plus what exists on the host.
  supervisor::RuntimeNetwork record() const;  // for runtime.json

 private:
  VmNetwork() = default;
  net::NetworkAssignment assignment_;
  std::string runtime_key_;
  std::optional<ChildProcess> passt_;
  std::filesystem::path passt_dir_;
  bool tap_created_ = false;
  bool nft_applied_ = false;
  bool detached_ = false;
};

// After a shim died: removes what runtime.json's network says exists (passt
// by pid, TAP, nft table, nat lease). Harmless when it is all gone already.
void cleanup_recorded_network(const supervisor::RuntimeNetwork& network);

}  // namespace microagent::linux_kvm
