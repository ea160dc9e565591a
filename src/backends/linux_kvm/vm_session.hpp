#pragma once
// One running microVM on this host: microagent's vhost-user-vsock device, the
// host listeners for guest-initiated vsock ports (result, control), and the
// QEMU process. Owns all of them; the destructor tears every one down.
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "backends/linux_kvm/qemu_command.hpp"
#include "backends/linux_kvm/vm_network.hpp"
#include "backends/linux_kvm/vsock/vhost_user_vsock_device.hpp"
#include "common/error.hpp"
#include "common/process.hpp"
#include "common/unique_fd.hpp"
#include "shim/forwarding_listener.hpp"
#include "shim/guest_channel.hpp"

namespace microagent::linux_kvm {

struct VmSockets {
  std::filesystem::path vhost_user;  // QEMU <-> our vsock device
  std::filesystem::path vsock;       // hybrid vsock host end (<vsock>_<port> for guest connections)
  std::filesystem::path qmp;
  std::filesystem::path serial_in;   // console input (started workspaces)
};

// Sockets live in the runtime dir when their paths fit sun_path, else in a
// short per-runtime directory under /tmp (named in runtime.json either way).
Result<VmSockets> plan_sockets(const std::filesystem::path& runtime_dir);
// Removes every socket file of the plan (and the short directory, if one was used).
void remove_sockets(const VmSockets& sockets);
// The plan as runtime.json records it.
supervisor::RuntimeSockets runtime_sockets(const VmSockets& sockets);

struct VmLaunchSpec {
  QemuMachineSpec machine;  // sockets are filled in by launch()
  VmSockets sockets;
  std::filesystem::path qemu_log;
  std::uint32_t result_port = 1024;
  std::size_t max_result_bytes = 8 << 20;
  bool listen_control = false;  // guest -> host readiness on the control port
  std::size_t max_control_bytes = 64 << 10;  // readiness lines are a few hundred bytes
  bool console_input = false;   // serial console on sockets.serial_in
  // Networking (docs/networking.md): the host side is set up before QEMU starts.
  net::NetworkAssignment network;  // mode isolated by default; forwards: --publish listeners
  std::string runtime_key;                              // names the TAP, passt dir, lease owner
  std::optional<protocol::MediationSpec> mediation;
  // QEMU and passt die with the process that launched them (a foreground run's
  // supervisor, a started workspace's shim), even by SIGKILL: nothing runs
  // unsupervised. The next command (reconcile) records who died and cleans up.
  bool tied_to_owner = false;
};

struct VmOutcome {
  std::optional<std::string> result_json;  // what the guest sent on the result port
  std::optional<ExitStatus> qemu_exit;
  bool timed_out = false;
  bool interrupted = false;  // SIGINT/SIGTERM reached the supervisor
  std::string detail;
};

class VmSession {
 public:
  static Result<std::unique_ptr<VmSession>> launch(VmLaunchSpec spec);
  ~VmSession();

  pid_t qemu_pid() const { return qemu_.pid(); }
  ChildProcess& qemu() { return qemu_; }
  const std::vector<std::string>& qemu_argv() const { return argv_; }
  const VmLaunchSpec& spec() const { return spec_; }
  // One connection per channel per boot (shim/guest_channel.hpp), opened by
  // guest init before its workload; the owner's poll loop drives them.
  shim::GuestChannel& result_channel() { return result_channel_; }
  shim::GuestChannel& control_channel() { return control_channel_; }
  // The control listener while nobody has connected (tests that read readiness by hand).
  int control_listener() const { return control_channel_.listener_fd(); }

  // Waits for the QEMU front end to connect to the vsock device (it does so at start-up).
  Result<void> wait_until_running(std::chrono::milliseconds timeout);
  // Waits for the guest's result, then for QEMU to exit (the guest powers off).
  // Never blocks on the guest: the result stream is read as it comes, and
  // `timeout` is the run's single deadline whatever the guest does.
  VmOutcome wait_for_result(std::optional<std::chrono::milliseconds> timeout);
  // Terminates QEMU: SIGTERM, then SIGKILL after `grace`.
  std::optional<ExitStatus> terminate(std::chrono::milliseconds grace);
  // Quarantine: closes every host-side listener and the vsock device and deletes
  // their socket files; the VM keeps running until it is stopped.
  void sever();
  // runtime.json "network": mode, addresses, TAP/passt, forwards.
  supervisor::RuntimeNetwork runtime_network() const;
  bool mediation_listening() const { return mediation_listening_; }

 private:
  VmSession() = default;
  VmLaunchSpec spec_;
  std::vector<std::string> argv_;
  std::unique_ptr<VhostUserVsockDevice> device_;
  shim::GuestChannel result_channel_;
  shim::GuestChannel control_channel_;
  std::unique_ptr<VmNetwork> network_;
  std::vector<std::unique_ptr<shim::ForwardingListener>> forwarders_;
  bool mediation_listening_ = false;
  ChildProcess qemu_;
};

}  // namespace microagent::linux_kvm
