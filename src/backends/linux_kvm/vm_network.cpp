#include "backends/linux_kvm/vm_network.hpp"

#include <signal.h>
#include <unistd.h>

#include <thread>

#include "common/atomic_file.hpp"
#include "net/host_resolvers.hpp"
#include "net/host_network.hpp"
#include "net/passt_binary.hpp"
#include "net/passt_command.hpp"
#include "net/subnet_pool.hpp"
#include "net/tcp_endpoint.hpp"

namespace microagent::linux_kvm {

using namespace std::chrono_literals;
using nlohmann::json;
using protocol::NetworkMode;

std::filesystem::path nat_leases_dir() {
  return ::geteuid() == 0 ? "/run/microagent/nat-leases" : "/tmp/microagent-nat-leases";
}

Result<void> probe_mediation(const protocol::WorkspaceConfig& config) {
  if (!config.mediation || !config.mediation->required) return {};
  auto probe = net::connect_tcp(config.mediation->target, 2s);
  if (!probe) {
    // probe's message names the target and the reason ("127.0.0.1:9900 is unreachable: Connection refused").
    return fail(ErrorCode::host_unavailable, "mediation target " + probe.error().message +
                                                 ": start it first, or pass --mediation-optional");
  }
  return {};
}

Result<void> preflight_network(const protocol::WorkspaceConfig& config) {
  if (auto ok = net::validate_network_config(config); !ok) return std::unexpected(ok.error());
  const auto& mode = config.network.mode;
  if (mode == NetworkMode::nat) {
    if (auto ok = net::check_nat_host(); !ok) return std::unexpected(ok.error());
  } else if (mode == NetworkMode::bridged) {
    if (auto ok = net::check_bridged_host(config.network.interface); !ok) return std::unexpected(ok.error());
  } else if (mode == NetworkMode::user && !net::locate_passt()) {
    return fail(ErrorCode::host_unavailable, "passt is not installed (user networking needs it): run "
                                             "./scripts/fetch-passt (or apt-get install passt), or use --network isolated");
  }
  return probe_mediation(config);
}

Result<net::NetworkAssignment> assign_network(const protocol::WorkspaceConfig& config, const std::string& runtime_key) {
  std::optional<net::Ipv4Subnet> subnet;
  if (config.network.mode == NetworkMode::nat) {
    auto pool = net::parse_subnet(net::kNatPool);
    auto leased = net::lease_subnet(nat_leases_dir(), runtime_key, *pool, net::kNatPrefix);
    if (!leased) return std::unexpected(leased.error());
    subnet = *leased;
  }
  auto assignment = net::plan_assignment(config, runtime_key, subnet);
  if (config.network.mode == NetworkMode::nat) assignment.dns = net::host_nameservers_for_nat();
  return assignment;
}

Result<std::unique_ptr<VmNetwork>> VmNetwork::attach(const net::NetworkAssignment& a, const std::string& runtime_key,
                                                     bool tied_to_owner) {
  std::unique_ptr<VmNetwork> self(new VmNetwork());
  self->assignment_ = a;
  self->runtime_key_ = runtime_key;
  if (a.mode == NetworkMode::user) {
    net::PasstSpec spec;
    if (auto passt = net::locate_passt()) spec.binary = passt->path;
    spec.dir = net::passt_dir_for(runtime_key);
    spec.assignment = a;
    spec.exit_with_client = tied_to_owner;
    self->passt_dir_ = spec.dir;
    auto passt = net::start_passt(spec);
    if (!passt) return std::unexpected(passt.error());
    self->passt_ = std::move(*passt);
  } else if (a.mode == NetworkMode::nat || a.mode == NetworkMode::bridged) {
    // A TAP left by a crashed earlier run of this workspace goes first.
    net::delete_tap(a.tap);
    if (auto ok = net::create_tap(a.tap); !ok) return std::unexpected(ok.error());
    self->tap_created_ = true;
    if (a.mode == NetworkMode::nat) {
      if (auto ok = net::set_interface_address(a.tap, a.host_address, a.prefix); !ok) return std::unexpected(ok.error());
      self->nft_applied_ = true;
      if (auto ok = net::apply_nat_rules(a.tap, a.subnet); !ok) return std::unexpected(ok.error());
    } else if (auto ok = net::attach_to_bridge(a.tap, a.bridge); !ok) {
      return std::unexpected(ok.error());
    }
  }
  return self;
}

VmNetwork::~VmNetwork() { detach(); }

std::optional<QemuNic> VmNetwork::nic() const {
  if (assignment_.mode == NetworkMode::user) return QemuNic{"passt", net::passt_socket_in(passt_dir_), "", assignment_.mac};
  if (assignment_.mode == NetworkMode::nat || assignment_.mode == NetworkMode::bridged) {
    return QemuNic{"tap", {}, assignment_.tap, assignment_.mac};
  }
  return std::nullopt;
}

void VmNetwork::detach() {
  if (detached_) return;
  detached_ = true;
  if (passt_ && !passt_->exited()) {
    passt_->signal(SIGTERM);
    if (!passt_->wait(1s)) {
      passt_->signal(SIGKILL);
      passt_->wait();
    }
  }
  if (!passt_dir_.empty()) net::remove_passt_dir(passt_dir_);
  if (nft_applied_) net::remove_nat_rules(assignment_.tap);
  if (tap_created_) net::delete_tap(assignment_.tap);
  if (!assignment_.subnet.empty()) {
    if (auto subnet = net::parse_subnet(assignment_.subnet)) net::release_subnet(nat_leases_dir(), runtime_key_, *subnet);
  }
}

supervisor::RuntimeNetwork VmNetwork::record() const {
  return {assignment_, runtime_key_, passt_ ? passt_->pid() : 0, passt_dir_.string()};
}

namespace {
bool is_passt(pid_t pid) {
  auto comm = read_file("/proc/" + std::to_string(pid) + "/comm");
  return comm && comm->rfind("passt", 0) == 0;
}
}  // namespace

void cleanup_recorded_network(const supervisor::RuntimeNetwork& n) {
  const auto& a = n.assignment;
  if (const pid_t pid = n.passt_pid; pid > 0 && is_passt(pid)) {
    ::kill(pid, SIGKILL);
    for (int i = 0; i < 100 && ::kill(pid, 0) == 0 && is_passt(pid); ++i) std::this_thread::sleep_for(10ms);
  }
  if (!n.passt_dir.empty()) net::remove_passt_dir(n.passt_dir);
  if (a.mode == NetworkMode::nat) net::remove_nat_rules(a.tap);
  if (a.mode == NetworkMode::nat || a.mode == NetworkMode::bridged) net::delete_tap(a.tap);
  if (!a.subnet.empty() && !n.runtime_key.empty()) {
    if (auto subnet = net::parse_subnet(a.subnet)) net::release_subnet(nat_leases_dir(), n.runtime_key, *subnet);
  }
}

}  // namespace microagent::linux_kvm
