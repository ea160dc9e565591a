#include "backends/linux_kvm/lifecycle_driver.hpp"

#include <signal.h>
#include <sys/socket.h>

#include <thread>

#include <fmt/core.h>

#include "backends/linux_kvm/console_input.hpp"
#include "backends/linux_kvm/linux_kvm_backend.hpp"
#include "backends/linux_kvm/qmp_client.hpp"
#include "backends/linux_kvm/vm_handle.hpp"
#include "backends/linux_kvm/vm_network.hpp"
#include "backends/linux_kvm/vm_session.hpp"
#include "backends/linux_kvm/workspace_disks.hpp"
#include "common/clock.hpp"
#include "common/atomic_file.hpp"
#include "common/guest_wire.hpp"
#include "common/paths.hpp"
#include "common/process.hpp"
#include "shim/final_state.hpp"
#include "shim/hybrid_vsock.hpp"
#include "shim/readiness_tracker.hpp"
#include "supervisor/event_factory.hpp"
#include "supervisor/runtime_record.hpp"
#include "supervisor/workspace_records.hpp"

namespace microagent::linux_kvm {
namespace {

using namespace std::chrono_literals;
using protocol::Event;
using protocol::State;
using supervisor::is_active;
using supervisor::RuntimeStore;
using supervisor::VmEnding;

// runtime.json as recorded; an empty record when it is absent or unreadable.
supervisor::RuntimeRecord runtime_of(const RuntimeStore& store) {
  auto runtime = supervisor::read_runtime_record(store);
  return runtime && *runtime ? **runtime : supervisor::RuntimeRecord{};
}

VmHandle handle_of(const RuntimeStore& store) { return VmHandle::from_record(runtime_of(store)); }

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

// `detail` is appended to the final event the shim records (quarantine's evidence).
Result<void> write_intent(const RuntimeStore& store, shim::Intent intent, const std::string& detail = {}) {
  return store.write_document(store.intent_path(),
                              {{"intent", shim::to_string(intent)}, {"at", rfc3339_now()}, {"detail", detail}});
}

void release_host_side(const RuntimeStore& store) {
  const auto runtime = runtime_of(store);
  if (runtime.network) cleanup_recorded_network(*runtime.network);
  const VmHandle vm = VmHandle::from_record(runtime);
  if (!vm.vsock.empty()) remove_sockets({vm.vhost_user, vm.vsock, vm.qmp, vm.serial_in});
}

// After a command ended the VM the shim records the final event; wait for it.
Result<Event> await_final_event(const RuntimeStore& store, const protocol::Request& request, const VmHandle& vm,
                                const shim::FinalState& fallback) {
  wait_for_exit(vm.shim_pid, 10s);
  auto latest = store.latest();
  if (latest && *latest && !is_active((*latest)->state)) return **latest;
  // The shim is gone without a word (killed with the VM): clean up after it and record it ourselves.
  release_host_side(store);
  return supervisor::record(store, make_event(request, fallback.state, fallback.detail));
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

// halt: guest init shuts down in order; else the ACPI power button; else SIGTERM.
void halt_vm(const VmHandle& vm, std::chrono::seconds grace) {
  if (ask_guest_to_halt(vm, grace) && wait_for_exit(vm.qemu_pid, 20s + grace)) return;
  if (auto qmp = QmpClient::connect(vm.qmp, 2s)) {
    qmp_system_powerdown(*qmp);
    if (wait_for_exit(vm.qemu_pid, 10s)) return;
  }
  signal_vm(vm, SIGTERM, 5s);
}

// stop: QMP `quit` (QEMU flushes its disks and exits); a QEMU that no longer answers gets SIGTERM, then SIGKILL.
void stop_vm(const VmHandle& vm) {
  if (auto qmp = QmpClient::connect(vm.qmp, 2s); qmp && qmp_quit(*qmp) && wait_for_exit(vm.qemu_pid, 5s)) return;
  signal_vm(vm, SIGTERM, 5s);
}

}  // namespace

std::string_view LinuxLifecycleDriver::backend() const { return kBackendName; }

bool LinuxLifecycleDriver::alive(const RuntimeStore& store) {
  const VmHandle vm = handle_of(store);
  return vm.qemu_alive() || vm.shim_alive();
}

// The owner died (killed, crashed): reap what it owned (QEMU, passt, TAP, nft
// table, nat lease, sockets) and record `failed` naming who died. A live owner
// is left alone: ps and inspect never disturb a run.
std::optional<supervisor::Settlement> LinuxLifecycleDriver::reconcile(const RuntimeStore& store) {
  const auto runtime = runtime_of(store);
  const VmHandle vm = VmHandle::from_record(runtime);
  auto why = dead_owner(runtime, vm, supervisor::latest_state(store));
  if (!why) return std::nullopt;
  if (vm.qemu_alive()) {
    ::kill(vm.qemu_pid, SIGKILL);
    wait_for_exit(vm.qemu_pid, 2s);
    *why += fmt::format("; QEMU (pid {}) killed", vm.qemu_pid);
  }
  release_host_side(store);
  return supervisor::Settlement{State::failed, *why};
}

Result<Event> LinuxLifecycleDriver::end(const RuntimeStore& store, const protocol::Request& request, VmEnding how) {
  const VmHandle vm = handle_of(store);
  switch (how) {
    case VmEnding::halt: {
      if (auto ok = write_intent(store, shim::Intent::halt); !ok) return std::unexpected(ok.error());
      store.record(make_event(request, State::stopping, "halt requested: asking guest init to shut down"));
      halt_vm(vm, std::chrono::seconds(request.options.grace_seconds));
      return await_final_event(store, request, vm, {State::halted, "halted"});
    }
    case VmEnding::stop:
      if (auto ok = write_intent(store, shim::Intent::stop); !ok) return std::unexpected(ok.error());
      store.record(make_event(request, State::stopping, "stop requested"));
      stop_vm(vm);
      return await_final_event(store, request, vm, {State::stopped, "stopped by request"});
    case VmEnding::kill:
      if (auto ok = write_intent(store, shim::Intent::kill); !ok) return std::unexpected(ok.error());
      signal_vm(vm, SIGKILL, 5s);
      return await_final_event(store, request, vm, {State::stopped, "killed by request"});
  }
  return fail(ErrorCode::internal, "unknown way to end a VM");
}

// QMP `stop`, then the migration stream (or a guest memory dump) to evidence/.
// Best effort: a failed capture must not keep a suspect VM connected.
std::string LinuxLifecycleDriver::capture(const RuntimeStore& store, const protocol::Request&) {
  const VmHandle vm = handle_of(store);
  const auto file = store.dir() / "evidence" / "vm-state.bin";
  ensure_directory(file.parent_path(), 0700);
  auto qmp = QmpClient::connect(vm.qmp, 2s);
  if (!qmp) return "evidence capture failed: " + qmp.error().message;
  auto captured = qmp_capture_migration_stream(*qmp, file, 60s);
  if (!captured) return "evidence capture failed: " + captured.error().message;
  return fmt::format("evidence: {} ({}, {} bytes)", captured->path.string(), to_string(captured->method),
                     captured->bytes);
}

Result<Event> LinuxLifecycleDriver::sever(const RuntimeStore& store, const protocol::Request& request,
                                         const std::string& evidence) {
  const VmHandle vm = handle_of(store);
  // Connected before severing, which deletes the QMP socket's path (an open connection keeps working).
  auto qmp = QmpClient::connect(vm.qmp, 2s);
  if (auto ok = write_intent(store, shim::Intent::quarantine, evidence); !ok) return std::unexpected(ok.error());
  // The shim severs every host-side endpoint and deletes the sockets; then the VM stops.
  if (vm.shim_alive()) ::kill(vm.shim_pid, SIGUSR1);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline && std::filesystem::exists(vm.vsock)) {
    std::this_thread::sleep_for(10ms);
  }
  if (!(qmp && qmp_quit(*qmp) && wait_for_exit(vm.qemu_pid, 5s))) signal_vm(vm, SIGKILL, 5s);
  return await_final_event(store, request, vm, {State::quarantined, "quarantined; " + evidence});
}

Result<void> LinuxLifecycleDriver::release(const RuntimeStore& store) {
  release_host_side(store);
  return {};
}

Result<void> LinuxLifecycleDriver::console(const RuntimeStore& store, const std::string& input) {
  return send_console_input(handle_of(store).serial_in, input);
}

void LinuxLifecycleDriver::describe(const RuntimeStore& store, const protocol::Request& request, Event& event) {
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
  auto stored = store.read_config();
  const bool stored_mediation = stored && *stored && (**stored).mediation;
  const bool requested_mediation = request.config && request.config->mediation;
  if (!stored_mediation && !requested_mediation) readiness.mediation_ready.detail = "no mediation configured";
  if (!is_active(event.state)) readiness.mediation_ready.ready = false;
  event.readiness = readiness;
  // `status` asks for "verify": every recorded hash is computed again.
  attach_manifest(event, store, request.options.verify);
}

}  // namespace microagent::linux_kvm
