// prepare and start of a detached linux-kvm workspace: disks, the guest's
// config, the launch spec (shared with `run`), and the runtime shim that owns the VM.
#include <signal.h>
#include <unistd.h>

#include <thread>

#include "backends/linux_kvm/guest_launch.hpp"
#include "backends/linux_kvm/host_profile.hpp"
#include "backends/linux_kvm/launch_spec.hpp"
#include "backends/linux_kvm/lifecycle_driver.hpp"
#include "backends/linux_kvm/linux_kvm_backend.hpp"
#include "backends/linux_kvm/runtime_shim.hpp"
#include "backends/linux_kvm/vm_handle.hpp"
#include "backends/linux_kvm/vm_network.hpp"
#include "backends/linux_kvm/workspace_disks.hpp"
#include "protocol/json_codec.hpp"
#include "supervisor/event_factory.hpp"
#include "supervisor/runtime_record.hpp"
#include "supervisor/workspace_records.hpp"

namespace microagent::linux_kvm {
namespace {

using namespace std::chrono_literals;
using protocol::Event;
using protocol::State;
using supervisor::RuntimeStore;

// A started guest stays up after its workload and listens on the control port.
GuestConfig detached_guest(const protocol::WorkspaceConfig& config) {
  GuestConfig guest = guest_config_for(config);
  guest.keep_alive = true;
  return guest;
}

// The shim records `running` once QEMU is up, or `failed`; wait for either.
Result<Event> await_running(const RuntimeStore& store, const protocol::Request& request, pid_t shim_pid) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto latest = store.latest();
    if (latest && *latest && (*latest)->state != State::starting) {
      if ((*latest)->state == State::running) return **latest;
      return fail(ErrorCode::internal, "VM failed to start: " + (*latest)->detail);
    }
    if (!process_alive(shim_pid)) break;
    std::this_thread::sleep_for(20ms);
  }
  ::kill(shim_pid, SIGTERM);
  store.record(make_event(request, State::failed, "VM did not reach running; see shim.log and qemu.log"));
  return fail(ErrorCode::internal, "VM did not reach running; see " + (store.dir() / "shim.log").string());
}

}  // namespace

Result<void> LinuxLifecycleDriver::check(const protocol::Request& request) {
  auto store = supervisor::store_for(request);
  if (!store) return std::unexpected(store.error());
  const auto& config = *request.config;
  const bool start = request.command == protocol::Command::start;
  auto plan = plan_guest_launch(config, start ? detached_guest(config) : guest_config_for(config),
                                started_disks(*store, config));
  if (!plan) return std::unexpected(plan.error());
  // Network preflight before anything is created (fails closed naming the fix).
  if (start) return preflight_network(config);
  return {};
}

Result<std::string> LinuxLifecycleDriver::prepare(const RuntimeStore& store, const protocol::Request& request) {
  const auto& config = *request.config;
  const auto disks = started_disks(store, config);
  if (auto ok = ensure_started_disks(store, config, disks); !ok) return std::unexpected(ok.error());
  if (auto ok = store.write_config(config); !ok) {
    return std::unexpected(ok.error());
  }
  const auto& disk = disks.root_overlay.empty() ? disks.workspace_disk : disks.root_overlay;
  return "workspace prepared (disk " + disk.string() + ")";
}

Result<Event> LinuxLifecycleDriver::launch(const RuntimeStore& store, const protocol::Request& request, bool first) {
  const auto& config = *request.config;
  const auto disks = started_disks(store, config);
  auto plan = plan_guest_launch(config, detached_guest(config), disks);
  if (!plan) return std::unexpected(plan.error());
  if (auto ok = ensure_started_disks(store, config, disks); !ok) return std::unexpected(ok.error());
  const AccelChoice accel = host_profile().accel;
  auto spec = workspace_launch_spec(store, config, std::move(*plan), accel);
  if (!spec) return std::unexpected(spec.error());
  spec->listen_control = true;
  spec->console_input = true;
  store.write_config(config);
  if (first) store.record(make_event(request, State::prepared, "workspace prepared"));
  std::error_code ec;
  for (const auto& stale : {store.intent_path(), store.result_path(), store.readiness_path()}) {
    std::filesystem::remove(stale, ec);
  }

  ShimLaunch launch;
  launch.identity = make_event(request, State::starting, "").identity;
  launch.state_dir = config.state_dir;
  launch.accel_reason = accel.reason;
  launch.vm = std::move(*spec);
  // A fresh runtime.json names who is starting the VM until the shim replaces it.
  supervisor::RuntimeRecord starter;
  starter.supervisor_pid = ::getpid();
  if (auto ok = supervisor::write_runtime_record(store, starter); !ok) return std::unexpected(ok.error());
  if (auto ok = store.record(make_event(request, State::starting, "starting VM (accel " + accel.accel + ")")); !ok) {
    return std::unexpected(ok.error());
  }
  auto shim_pid = spawn_runtime_shim(launch, store.dir() / "shim.log");
  if (!shim_pid) {
    return supervisor::record(store,
                              make_event(request, State::failed, "runtime shim failed to start: " + shim_pid.error().message));
  }
  return await_running(store, request, *shim_pid);
}

}  // namespace microagent::linux_kvm
