#include "backends/linux_kvm/launch_spec.hpp"

#include "backends/linux_kvm/vm_network.hpp"

namespace microagent::linux_kvm {

Result<VmLaunchSpec> workspace_launch_spec(const supervisor::RuntimeStore& store,
                                           const protocol::WorkspaceConfig& config, GuestLaunchPlan plan,
                                           const AccelChoice& accel) {
  auto network = assign_network(config, store.dir().string());
  if (!network) return std::unexpected(network.error());
  apply_network_assignment(plan, *network, config);
  if (auto ok = materialize_guest_config(plan, store.dir()); !ok) return std::unexpected(ok.error());
  auto sockets = plan_sockets(store.dir());
  if (!sockets) return std::unexpected(sockets.error());
  VmLaunchSpec launch;
  launch.machine = plan.machine;
  launch.machine.accel = accel.accel;
  launch.machine.cpu = accel.cpu;
  launch.machine.serial_log = store.serial_log_path();
  launch.sockets = *sockets;
  launch.qemu_log = store.dir() / "qemu.log";
  launch.result_port = config.result_port;
  // Each stream is base64 on the wire (4/3) plus JSON framing.
  launch.max_result_bytes = static_cast<std::size_t>(config.output_limit) * 3 + (1 << 20);
  launch.network = *network;
  launch.runtime_key = store.dir().string();
  launch.mediation = config.mediation;
  return launch;
}

}  // namespace microagent::linux_kvm
