#include "backends/linux_kvm/workspace_lifecycle.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include <fmt/core.h>

#include "backends/linux_kvm/console_input.hpp"
#include "backends/linux_kvm/guest_launch.hpp"
#include "backends/linux_kvm/host_profile.hpp"
#include "backends/linux_kvm/kvm_probe.hpp"
#include "backends/linux_kvm/qmp_client.hpp"
#include "backends/linux_kvm/runtime_shim.hpp"
#include "backends/linux_kvm/vm_handle.hpp"
#include "backends/linux_kvm/vm_network.hpp"
#include "backends/linux_kvm/workspace_disks.hpp"
#include "common/atomic_file.hpp"
#include "common/clock.hpp"
#include "common/process.hpp"
#include "protocol/json_codec.hpp"
#include "shim/final_state.hpp"
#include "shim/hybrid_vsock.hpp"
#include "shim/readiness_tracker.hpp"
#include "supervisor/event_factory.hpp"
#include "supervisor/runtime_record.hpp"
#include "supervisor/runtime_store.hpp"
#include "supervisor/workspace_records.hpp"

namespace microagent::linux_kvm {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using protocol::Event;
using protocol::State;
using supervisor::is_active;
using supervisor::latest_state;
using supervisor::record;
using supervisor::RuntimeStore;
using supervisor::store_for;


Event event_for(const protocol::Request& request, State state, std::string detail) {
  return supervisor::event_for(request, "linux-kvm", state, std::move(detail));
}

// Only a directory RuntimeStore::create() marked: never a symlink or a stranger's directory.
Result<void> require_exists(const RuntimeStore& store) { return store.check_workspace(); }

// runtime.json as recorded; an empty record when it is absent or unreadable.
supervisor::RuntimeRecord runtime_of(const RuntimeStore& store) {
  auto runtime = supervisor::read_runtime_record(store);
  return runtime && *runtime ? **runtime : supervisor::RuntimeRecord{};
}

VmHandle handle_of(const RuntimeStore& store) { return VmHandle::from_record(runtime_of(store)); }

// What the recorded network left on the host (passt, TAP, nft table, lease), removed.
void cleanup_network_of(const RuntimeStore& store) {
  if (const auto runtime = runtime_of(store); runtime.network) cleanup_recorded_network(*runtime.network);
}

// Who answers for an active workspace's VM, and whether it is still there to:
// a foreground run's supervisor for the whole run, a starting supervisor until
// the shim's first runtime.json, else the runtime shim. nullopt: the owner is alive.
std::optional<std::string> dead_owner(const supervisor::RuntimeRecord& runtime, const VmHandle& vm,
                                      std::optional<State> state) {
  const pid_t supervisor = runtime.supervisor_pid;
  if (runtime.foreground) {
    if (process_alive(supervisor)) return std::nullopt;
    return fmt::format("foreground run's supervisor (pid {}) exited without recording the run's end", supervisor);
  }
  if (vm.shim_alive()) return std::nullopt;
  // Between `starting` and the shim's first runtime.json, the starting
  // supervisor is the one responsible: it records `failed` itself if need be.
  if (state == State::starting && process_alive(supervisor)) return std::nullopt;
  if (vm.shim_pid > 0) return fmt::format("runtime shim (pid {}) exited without recording the VM's end", vm.shim_pid);
  return std::string("runtime shim exited without recording the VM's end");
}

// An active workspace whose owner died (killed, crashed) leaves a stale state:
// reap what it owned (QEMU, passt, TAP, nft table, nat lease) and record `failed`
// naming who died. A live owner is left alone: ps and inspect never disturb a run.
void reconcile(const RuntimeStore& store, const protocol::Request& request) {
  // A stranger's directory's "runtime.json" names no process of ours to kill.
  if (!store.exists()) return;
  const auto state = latest_state(store);
  if (!is_active(state)) return;
  const auto runtime = runtime_of(store);
  const VmHandle vm = VmHandle::from_record(runtime);
  auto why = dead_owner(runtime, vm, state);
  if (!why) return;
  if (vm.qemu_alive()) {
    ::kill(vm.qemu_pid, SIGKILL);
    wait_for_exit(vm.qemu_pid, 2s);
    *why += fmt::format("; QEMU (pid {}) killed", vm.qemu_pid);
  }
  if (runtime.network) cleanup_recorded_network(*runtime.network);
  if (!vm.vsock.empty()) remove_sockets({vm.vhost_user, vm.vsock, vm.qmp, vm.serial_in});
  store.record(event_for(request, State::failed, *why));
}

// An existing workspace, its command lock held, reconciled, with its VM as recorded.
struct LockedWorkspace {
  RuntimeStore store;
  FileLock lock;
  VmHandle vm;
};

Result<LockedWorkspace> lock_workspace(const protocol::Request& request) {
  auto opened = store_for(request);
  if (!opened) return std::unexpected(opened.error());
  RuntimeStore& store = *opened;
  if (auto ok = require_exists(store); !ok) return std::unexpected(ok.error());
  auto lock = store.lock();
  if (!lock) return std::unexpected(lock.error());
  reconcile(store, request);
  VmHandle vm = handle_of(store);
  return LockedWorkspace{std::move(store), std::move(*lock), std::move(vm)};
}

// `detail` is appended to the final event the shim records (quarantine's evidence).
Result<void> write_intent(const RuntimeStore& store, shim::Intent intent, const std::string& detail = {}) {
  return store.write_document(store.intent_path(),
                              {{"intent", shim::to_string(intent)}, {"at", rfc3339_now()}, {"detail", detail}});
}

// After a lifecycle command ended the VM, the shim records the final event; wait for it.
Result<Event> await_final_event(const RuntimeStore& store, const protocol::Request& request, const VmHandle& vm,
                                const shim::FinalState& fallback) {
  wait_for_exit(vm.shim_pid, 10s);
  auto latest = store.latest();
  if (latest && *latest && !is_active((*latest)->state)) return **latest;
  // The shim is gone without a word (killed with the VM): clean up after it and record it ourselves.
  cleanup_network_of(store);
  return record(store, event_for(request, fallback.state, fallback.detail));
}

// Ends a running VM the hard way; the shim (if alive) records the final event.
void signal_vm(const VmHandle& vm, int sig, std::chrono::milliseconds grace) {
  if (!vm.qemu_alive()) return;
  ::kill(vm.qemu_pid, sig);
  if (!wait_for_exit(vm.qemu_pid, grace) && sig != SIGKILL) {
    ::kill(vm.qemu_pid, SIGKILL);
    wait_for_exit(vm.qemu_pid, 3s);
  }
}

// Asks guest init to shut down over the control port, giving its processes
// `grace` between SIGTERM and SIGKILL; true when it agreed.
bool ask_guest_to_halt(const VmHandle& vm, std::chrono::seconds grace) {
  auto stream = shim::connect_to_guest(vm.vsock, kControlPort, 3s);
  if (!stream) return false;
  const std::string request = halt_command_line(grace);
  if (::send(stream->get(), request.data(), request.size(), MSG_NOSIGNAL) < 0) return false;
  auto reply = shim::read_stream_to_end(stream->get(), 4096, 5s);
  return reply && reply->find("\"ok\":true") != std::string::npos;
}

}  // namespace

Result<Event> prepare_workspace(const protocol::Request& request) {
  auto opened = store_for(request);
  if (!opened) return std::unexpected(opened.error());
  RuntimeStore& store = *opened;
  // Checked before the lock: a request the host refuses leaves no trace in the state dir.
  const auto disks = started_disks(store, *request.config);
  if (auto ok = plan_guest_launch(*request.config, guest_config_for(*request.config), disks); !ok) {
    return std::unexpected(ok.error());
  }
  auto lock = store.lock();
  if (!lock) return std::unexpected(lock.error());
  reconcile(store, request);
  const auto state = latest_state(store);
  if (state && *state != State::prepared && *state != State::halted && *state != State::stopped && *state != State::failed) {
    return fail(ErrorCode::conflict, fmt::format("workspace '{}' is {}: it cannot be prepared again", store.runtime_id(),
                                                 protocol::to_string(*state)));
  }
  if (auto ok = store.create(); !ok) return std::unexpected(ok.error());
  if (auto ok = ensure_started_disks(store, *request.config, disks); !ok) return std::unexpected(ok.error());
  if (auto ok = store.write_document(store.config_path(), protocol::to_json(*request.config)); !ok) {
    return std::unexpected(ok.error());
  }
  const auto& disk = disks.root_overlay.empty() ? disks.workspace_disk : disks.root_overlay;
  return record(store, event_for(request, State::prepared, "workspace prepared (disk " + disk.string() + ")"));
}

Result<Event> start_workspace(const protocol::Request& request) {
  auto opened = store_for(request);
  if (!opened) return std::unexpected(opened.error());
  RuntimeStore& store = *opened;
  const auto& config = *request.config;
  GuestConfig guest = guest_config_for(config);
  guest.keep_alive = true;
  const auto disks = started_disks(store, config);
  auto plan = plan_guest_launch(config, guest, disks);
  if (!plan) return std::unexpected(plan.error());
  // Network preflight before anything is created (fails closed naming the fix).
  if (auto ok = preflight_network(config); !ok) return std::unexpected(ok.error());

  auto lock = store.lock();
  if (!lock) return std::unexpected(lock.error());
  reconcile(store, request);
  const auto state = latest_state(store);
  if (is_active(state)) return fail(ErrorCode::conflict, "workspace '" + store.runtime_id() + "' is already running");
  if (state == State::quarantined) {
    return fail(ErrorCode::conflict, "workspace '" + store.runtime_id() +
                                         "' is quarantined: halt, stop or kill it before starting it again");
  }
  if (auto ok = store.create(); !ok) return std::unexpected(ok.error());
  if (auto ok = ensure_started_disks(store, config, disks); !ok) return std::unexpected(ok.error());
  // Checked by preflight_network above; nat leases its subnet now.
  auto network = assign_network(config, store.dir().string());
  if (!network) return std::unexpected(network.error());
  apply_network_assignment(*plan, *network, config);
  if (auto ok = materialize_guest_config(*plan, store.dir()); !ok) return std::unexpected(ok.error());
  store.write_document(store.config_path(), protocol::to_json(config));
  if (!state) record(store, event_for(request, State::prepared, "workspace prepared"));
  std::error_code ec;
  std::filesystem::remove(store.intent_path(), ec);
  std::filesystem::remove(store.result_path(), ec);
  std::filesystem::remove(store.readiness_path(), ec);

  const AccelChoice accel = host_profile().accel;
  auto sockets = plan_sockets(store.dir());
  if (!sockets) return std::unexpected(sockets.error());
  ShimLaunch launch;
  launch.identity = event_for(request, State::starting, "").identity;
  launch.state_dir = config.state_dir;
  launch.accel_reason = accel.reason;
  launch.vm.machine = plan->machine;
  launch.vm.machine.accel = accel.accel;
  launch.vm.machine.cpu = accel.cpu;
  launch.vm.machine.serial_log = store.serial_log_path();
  launch.vm.sockets = *sockets;
  launch.vm.qemu_log = store.dir() / "qemu.log";
  launch.vm.result_port = config.result_port;
  launch.vm.max_result_bytes = static_cast<std::size_t>(config.output_limit) * 3 + (1 << 20);
  launch.vm.listen_control = true;
  launch.vm.console_input = true;
  launch.vm.network = *network;
  launch.vm.runtime_key = store.dir().string();
  launch.vm.mediation = config.mediation;

  // A fresh runtime.json names who is starting the VM until the shim replaces it.
  supervisor::RuntimeRecord starter;
  starter.supervisor_pid = ::getpid();
  if (auto ok = supervisor::write_runtime_record(store, starter); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = store.record(event_for(request, State::starting, "starting VM (accel " + accel.accel + ")")); !ok) {
    return std::unexpected(ok.error());
  }
  auto shim_pid = spawn_runtime_shim(launch, store.dir() / "shim.log");
  if (!shim_pid) return record(store, event_for(request, State::failed, "runtime shim failed to start: " + shim_pid.error().message));

  // The shim records `running` once QEMU is up, or `failed`.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto latest = store.latest();
    if (latest && *latest && (*latest)->state != State::starting) {
      if ((*latest)->state == State::running) return **latest;
      return fail(ErrorCode::internal, "VM failed to start: " + (*latest)->detail);
    }
    if (!process_alive(*shim_pid)) break;
    std::this_thread::sleep_for(20ms);
  }
  ::kill(*shim_pid, SIGTERM);
  record(store, event_for(request, State::failed, "VM did not reach running; see shim.log and qemu.log"));
  return fail(ErrorCode::internal, "VM did not reach running; see " + (store.dir() / "shim.log").string());
}

Result<Event> inspect_workspace(const protocol::Request& request) {
  auto opened = store_for(request);
  if (!opened) return std::unexpected(opened.error());
  RuntimeStore& store = *opened;
  if (auto ok = require_exists(store); !ok) return std::unexpected(ok.error());
  reconcile(store, request);
  auto latest = store.latest();
  if (!latest) return std::unexpected(latest.error());
  if (!*latest) return fail(ErrorCode::not_found, "workspace '" + store.runtime_id() + "' has no events");
  Event event = **latest;
  auto readiness_doc = store.read_document(store.readiness_path());
  protocol::Readiness readiness =
      readiness_doc && *readiness_doc ? shim::readiness_from_json(**readiness_doc) : protocol::Readiness{};
  auto result = store.read_result();
  if (result && *result) {
    readiness.result_ready.ready = true;
    if (readiness.result_ready.detail.empty()) readiness.result_ready.detail = "result.json present";
    if (!event.result) event.result = **result;
  }
  if (!is_active(event.state)) readiness.guest_ready.ready = readiness.shell_ready.ready = false;
  // Mediation is configured when the stored config (start/create) or this request says so.
  auto stored = store.read_document(store.config_path());
  const bool stored_mediation = stored && *stored && (**stored).is_object() && (**stored).contains("mediation") &&
                                (**stored)["mediation"].is_object();
  const bool requested_mediation = request.config && request.config->mediation;
  if (!stored_mediation && !requested_mediation) readiness.mediation_ready.detail = "no mediation configured";
  if (!is_active(event.state)) readiness.mediation_ready.ready = false;
  event.readiness = readiness;
  // `status` asks for "verify": every recorded hash is computed again.
  attach_manifest(event, store, request.options.verify);
  return event;
}

Result<Event> halt_workspace(const protocol::Request& request) {
  const std::chrono::seconds grace(request.options.grace_seconds);  // options.graceSeconds, 0..600
  auto workspace = lock_workspace(request);
  if (!workspace) return std::unexpected(workspace.error());
  const auto& [store, lock, vm] = *workspace;
  const auto state = latest_state(store);
  if (!vm.qemu_alive()) {
    if (state == State::halted) return *store.latest().value();
    if (state == State::quarantined || state == State::stopped || state == State::failed) {
      return record(store, event_for(request, State::halted, "halted (VM was not running)"));
    }
    return fail(ErrorCode::conflict, "workspace '" + store.runtime_id() + "' is not running");
  }
  if (auto ok = write_intent(store, shim::Intent::halt); !ok) return std::unexpected(ok.error());
  store.record(event_for(request, State::stopping, "halt requested: asking guest init to shut down"));
  bool clean = ask_guest_to_halt(vm, grace) && wait_for_exit(vm.qemu_pid, 20s + grace);
  if (!clean) {
    // Guest init did not answer: the ACPI power button, then the hard way.
    if (auto qmp = QmpClient::connect(vm.qmp, 2s)) {
      qmp_system_powerdown(*qmp);
      clean = wait_for_exit(vm.qemu_pid, 10s);
    }
    if (!clean) signal_vm(vm, SIGTERM, 5s);
  }
  return await_final_event(store, request, vm, {State::halted, "halted"});
}

namespace {

// stop and kill: end a running VM (QMP `quit`, else SIGTERM; or SIGKILL at once);
// a quarantined workspace without a VM is released to `stopped`.
Result<Event> end_vm(const protocol::Request& request, shim::Intent intent) {
  const bool kill = intent == shim::Intent::kill;
  auto workspace = lock_workspace(request);
  if (!workspace) return std::unexpected(workspace.error());
  const auto& [store, lock, vm] = *workspace;
  if (!vm.qemu_alive()) {
    if (latest_state(store) == State::quarantined) {
      return record(store, event_for(request, State::stopped, kill ? "killed (was quarantined)" : "stopped (was quarantined)"));
    }
    auto latest = store.latest();
    if (latest && *latest) return **latest;
    return fail(ErrorCode::not_found, "workspace '" + store.runtime_id() + "' has no events");
  }
  if (auto ok = write_intent(store, intent); !ok) return std::unexpected(ok.error());
  if (kill) {
    signal_vm(vm, SIGKILL, 5s);
    return await_final_event(store, request, vm, {State::stopped, "killed by request"});
  }
  store.record(event_for(request, State::stopping, "stop requested"));
  // QMP `quit` first (QEMU flushes its disks and exits); a QEMU that no longer
  // answers gets SIGTERM, then SIGKILL.
  if (auto qmp = QmpClient::connect(vm.qmp, 2s); !(qmp && qmp_quit(*qmp) && wait_for_exit(vm.qemu_pid, 5s))) {
    signal_vm(vm, SIGTERM, 5s);
  }
  return await_final_event(store, request, vm, {State::stopped, "stopped by request"});
}

}  // namespace

Result<Event> stop_workspace(const protocol::Request& request) { return end_vm(request, shim::Intent::stop); }

Result<Event> kill_workspace(const protocol::Request& request) { return end_vm(request, shim::Intent::kill); }

Result<Event> quarantine_workspace(const protocol::Request& request) {
  auto workspace = lock_workspace(request);
  if (!workspace) return std::unexpected(workspace.error());
  const auto& [store, lock, vm] = *workspace;
  if (!vm.qemu_alive()) {
    if (latest_state(store) == State::quarantined) return *store.latest().value();
    return record(store, event_for(request, State::quarantined, "quarantined while not running; start is refused"));
  }
  const bool capture = !request.options.no_capture;
  // One QMP connection for the whole sequence: severing deletes the QMP socket's
  // path, but an open connection keeps working.
  auto qmp = QmpClient::connect(vm.qmp, 2s);
  std::string evidence = "evidence capture skipped (--no-capture)";
  if (capture) {
    // Best effort: a failed capture must not keep a suspect VM connected.
    const auto file = store.dir() / "evidence" / "vm-state.bin";
    ensure_directory(file.parent_path(), 0700);
    if (!qmp) {
      evidence = "evidence capture failed: " + qmp.error().message;
    } else if (auto captured = qmp_capture_migration_stream(*qmp, file, 60s)) {
      evidence = fmt::format("evidence: {} ({}, {} bytes)", captured->path.string(), to_string(captured->method),
                             captured->bytes);
    } else {
      evidence = "evidence capture failed: " + captured.error().message;
    }
  }
  if (auto ok = write_intent(store, shim::Intent::quarantine, evidence); !ok) return std::unexpected(ok.error());
  // The shim severs every host-side endpoint and deletes the sockets; then the VM stops.
  if (vm.shim_alive()) ::kill(vm.shim_pid, SIGUSR1);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline && std::filesystem::exists(vm.vsock)) std::this_thread::sleep_for(10ms);
  if (!(qmp && qmp_quit(*qmp) && wait_for_exit(vm.qemu_pid, 5s))) signal_vm(vm, SIGKILL, 5s);
  return await_final_event(store, request, vm, {State::quarantined, "quarantined; " + evidence});
}

Result<Event> delete_workspace(const protocol::Request& request) {
  auto workspace = lock_workspace(request);
  if (!workspace) return std::unexpected(workspace.error());
  const auto& [store, lock, vm] = *workspace;
  if (vm.qemu_alive() || vm.shim_alive()) {
    return fail(ErrorCode::conflict, "workspace '" + store.runtime_id() + "' is running: stop or kill it first");
  }
  Event event = event_for(request, State::unknown, "deleted");
  cleanup_network_of(store);
  if (!vm.vsock.empty()) remove_sockets({vm.vhost_user, vm.vsock, vm.qmp, vm.serial_in});
  std::error_code ec;
  std::filesystem::remove_all(store.dir(), ec);
  if (ec) return fail_errno("remove " + store.dir().string(), ec.value());
  std::filesystem::remove_all(store.workspace_dir(), ec);
  std::filesystem::remove(store.lock_path(), ec);
  std::filesystem::remove(store.record_lock_path(), ec);
  return event;
}

Result<Event> console_workspace(const protocol::Request& request) {
  auto opened = store_for(request);
  if (!opened) return std::unexpected(opened.error());
  RuntimeStore& store = *opened;
  if (auto ok = require_exists(store); !ok) return std::unexpected(ok.error());
  reconcile(store, request);
  const VmHandle vm = handle_of(store);
  if (!vm.qemu_alive() || latest_state(store) != State::running) {
    return fail(ErrorCode::conflict, "workspace '" + store.runtime_id() + "' is not running: no console to write to");
  }
  const auto& input = request.options.console_input;
  if (!input) {
    return fail(ErrorCode::invalid_request, "console needs \"input\": the text to send to the guest's serial console");
  }
  if (auto ok = send_console_input(vm.serial_in, *input); !ok) return std::unexpected(ok.error());
  auto latest = store.latest();
  Event event = latest && *latest ? **latest : event_for(request, State::running, "");
  event.detail = fmt::format("sent {} bytes to the serial console", input->size());
  return event;
}

}  // namespace microagent::linux_kvm
