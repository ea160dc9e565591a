#include "backends/windows_hyperv/workspace_lifecycle.hpp"

#include "backends/windows_hyperv/doctor_checks.hpp"
#include "backends/windows_hyperv/hv_constants.hpp"
#include "backends/windows_hyperv/hv_event.hpp"
#include "backends/windows_hyperv/network_attachment.hpp"
#include "backends/windows_hyperv/vm_launch.hpp"
#include "backends/windows_hyperv/vm_preflight.hpp"
#include "backends/windows_hyperv/vm_record.hpp"
#include "backends/windows_hyperv/workspace_disks.hpp"
#include "common/clock.hpp"
#include "protocol/json_codec.hpp"
#include "supervisor/event_factory.hpp"
#include "supervisor/runtime_store.hpp"
#include "supervisor/workspace_records.hpp"

namespace microagent::windows_hyperv {

using nlohmann::json;
using protocol::Event;
using protocol::State;
using supervisor::is_active;
using supervisor::latest_state;
using supervisor::record;
using supervisor::RuntimeStore;
using supervisor::store_for;

namespace {

// The request's workspace, made if it is new, locked for one lifecycle change.
struct HeldWorkspace {
  RuntimeStore store;
  FileLock lock;
};

Result<HeldWorkspace> hold_workspace(const protocol::Request& request) {
  auto opened = store_for(request);
  if (!opened) return std::unexpected(opened.error());
  if (auto ok = opened->create(); !ok) return std::unexpected(ok.error());
  auto lock = opened->lock();
  if (!lock) return std::unexpected(lock.error());
  return HeldWorkspace{std::move(*opened), std::move(*lock)};
}

struct LockedWorkspace {
  RuntimeStore store;
  FileLock lock;
  VmRecord vm;
};

// A recorded running VM that HCS no longer has ended on its own (guest
// poweroff, host reboot): settle it as stopped and release what it held.
void reconcile(WindowsHost& host, const RuntimeStore& store, const protocol::Request& request, VmRecord& vm) {
  if (!is_active(latest_state(store)) || vm_alive(host, vm)) return;
  // HCS not answering (not loaded, access denied) says nothing about the VM:
  // it stays recorded as it is rather than being settled as gone.
  if (!vm.compute_system_id.empty() && !vm.exited && !host.compute_system_state(vm.compute_system_id)) return;
  end_vm(host, store, vm, VmEnd::terminate);
  store.record(make_event(request, State::stopped, "compute system " + vm.compute_system_id + " is gone (guest powered off)"));
}

Result<LockedWorkspace> lock_workspace(WindowsHost& host, const protocol::Request& request) {
  auto opened = store_for(request);
  if (!opened) return std::unexpected(opened.error());
  RuntimeStore& store = *opened;
  if (!store.exists()) return fail(ErrorCode::not_found, "no workspace named '" + store.runtime_id() + "'");
  auto lock = store.lock();
  if (!lock) return std::unexpected(lock.error());
  VmRecord vm = read_vm_record(store);
  reconcile(host, store, request, vm);
  return LockedWorkspace{std::move(store), std::move(*lock), std::move(vm)};
}

// halt, stop and kill share one shape: end a live VM (or a quarantined one's
// leftovers) and record `to`; other states stay as they are.
Result<Event> end_workspace(WindowsHost& host, const protocol::Request& request, VmEnd how, State to,
                            const std::string& detail) {
  const std::chrono::seconds grace(request.options.grace_seconds);  // options.graceSeconds, 0..600
  auto ws = lock_workspace(host, request);
  if (!ws) return std::unexpected(ws.error());
  const auto state = latest_state(ws->store);
  if (!is_active(state) && state != State::quarantined) {
    if (to == State::halted && state == State::prepared) {
      return fail(ErrorCode::conflict, "workspace '" + ws->store.runtime_id() + "' was never started: nothing to halt");
    }
    if (to == State::halted && (state == State::stopped || state == State::failed)) {
      return record(ws->store, make_event(request, State::halted, "no VM running; workspace kept for the next start"));
    }
    auto latest = ws->store.latest();
    if (latest && *latest) return **latest;
    return record(ws->store, make_event(request, State::unknown, "no events recorded"));
  }
  if (is_active(state)) record(ws->store, make_event(request, State::stopping, detail));
  auto ended = end_vm(host, ws->store, ws->vm, how, grace);
  std::string final_detail = detail;
  if (!ended) final_detail += " (teardown: " + ended.error().message + ")";
  return record(ws->store, make_event(request, to, final_detail));
}

}  // namespace

Result<Event> prepare_workspace(WindowsHost& host, const protocol::Request& request) {
  (void)host;
  const auto& config = *request.config;
  if (auto ok = validate_network(config.network); !ok) return std::unexpected(ok.error());
  if (auto ok = validate_disk_config(config); !ok) return std::unexpected(ok.error());
  auto held = hold_workspace(request);
  if (!held) return std::unexpected(held.error());
  RuntimeStore& store = held->store;
  const auto state = latest_state(store);
  if (state && (is_active(*state) || *state == State::quarantined)) {
    return fail(ErrorCode::conflict, "workspace '" + store.runtime_id() + "' is " +
                                         std::string(protocol::to_string(*state)) + ": stop it before preparing again");
  }
  auto disks = ensure_workspace_disks(config, store.workspace_dir());
  if (!disks) return std::unexpected(disks.error());
  if (auto ok = store.write_document(store.config_path(), protocol::to_json(config)); !ok) return std::unexpected(ok.error());
  return record(store, make_event(request, State::prepared,
                                  "workspace prepared (" + std::to_string(disks->scsi.size()) + " VHD(s), no compute system)"));
}

Result<Event> start_workspace(WindowsHost& host, const protocol::Request& request) {
  const auto& config = *request.config;
  if (auto ok = preflight_vm(host, config); !ok) return std::unexpected(ok.error());
  auto held = hold_workspace(request);
  if (!held) return std::unexpected(held.error());
  RuntimeStore& store = held->store;
  VmRecord previous = read_vm_record(store);
  reconcile(host, store, request, previous);
  const auto state = latest_state(store);
  if (is_active(state)) return fail(ErrorCode::conflict, "workspace '" + store.runtime_id() + "' is already running");
  if (state == State::quarantined) {
    return fail(ErrorCode::conflict, "workspace '" + store.runtime_id() + "' is quarantined: halt, stop or kill it first");
  }
  std::error_code ec;
  std::filesystem::remove(store.result_path(), ec);
  std::filesystem::remove(store.readiness_path(), ec);

  auto failed = [&](VmRecord* vm, const Error& error) -> Result<Event> {
    if (vm) end_vm(host, store, *vm, VmEnd::terminate);
    store.record(make_event(request, State::failed, "start failed: " + error.message));
    return std::unexpected(error);
  };
  if (auto ok = store.record(make_event(request, State::starting, "creating compute system")); !ok) {
    return std::unexpected(ok.error());
  }
  auto created = create_vm(host, store, config, true);
  if (!created) return failed(nullptr, created.error());
  VmRecord& vm = created->record;
  if (auto ok = host.start_compute_system(vm.compute_system_id); !ok) return failed(&vm, ok.error());
  vm.extra["startedAt"] = rfc3339_now();
  // `connect` addresses the VM's Hyper-V sockets by this id, without HCS.
  auto runtime_id = host.vm_runtime_id(vm.compute_system_id);
  if (!runtime_id) return failed(&vm, runtime_id.error());
  vm.extra["vmRuntimeId"] = *runtime_id;
  ListenerHelperSpec helper{store.runtime_id(), vm.compute_system_id, store.dir(), vm.com1_pipe, config.result_port,
                            config.network.port_forwards, config.mediation};
  auto pid = host.spawn_listener_helper(helper);
  if (!pid) return failed(&vm, pid.error());
  vm.listener_pid = *pid;
  vm.extra["listenerLog"] = (store.dir() / "hvsock-listener.log").string();
  if (auto ok = store.write_runtime(to_json(vm)); !ok) return failed(&vm, ok.error());
  return record(store, make_event(request, State::running, "compute system " + vm.compute_system_id + " running"));
}

Result<Event> inspect_workspace(WindowsHost& host, const protocol::Request& request) {
  auto ws = lock_workspace(host, request);
  if (!ws) return std::unexpected(ws.error());
  auto latest = ws->store.latest();
  if (!latest) return std::unexpected(latest.error());
  if (!*latest) return fail(ErrorCode::not_found, "workspace '" + ws->store.runtime_id() + "' has no events yet");
  Event event = **latest;
  protocol::Readiness readiness;
  // Guest and shell readiness come from guest init (via the listener helper's
  // readiness.json), never from HCS saying "Running".
  if (is_active(event.state)) {
    if (auto doc = ws->store.read_document(ws->store.readiness_path()); doc && *doc) {
      auto signal = [&](const char* key, protocol::ReadinessSignal& out) {
        if (!(**doc).contains(key) || !(**doc)[key].is_object()) return;
        const auto& value = (**doc)[key];
        out.ready = value.value("ready", false);
        out.observed_at = value.value("observedAt", "");
        out.detail = value.value("detail", "");
      };
      signal("guestReady", readiness.guest_ready);
      signal("shellReady", readiness.shell_ready);
    }
    if (!readiness.guest_ready.ready) readiness.guest_ready.detail = "compute system running; guest init has not reported";
  }
  std::error_code ec;
  if (std::filesystem::exists(ws->store.result_path(), ec)) {
    readiness.result_ready = {true, rfc3339_now(), "result.json delivered", ""};
  }
  readiness.mediation_ready.detail = "mediation readiness is not reported on windows-hyperv yet";
  event.readiness = readiness;
  return event;
}

Result<Event> halt_workspace(WindowsHost& host, const protocol::Request& request) {
  return end_workspace(host, request, VmEnd::shutdown, State::halted,
                       "halted: guest shut down; disk and identity kept for the next start");
}

Result<Event> stop_workspace(WindowsHost& host, const protocol::Request& request) {
  return end_workspace(host, request, VmEnd::shutdown, State::stopped, "stopped by request");
}

Result<Event> kill_workspace(WindowsHost& host, const protocol::Request& request) {
  return end_workspace(host, request, VmEnd::terminate, State::stopped, "killed by request (compute system terminated)");
}

Result<Event> quarantine_workspace(WindowsHost& host, const protocol::Request& request) {
  auto ws = lock_workspace(host, request);
  if (!ws) return std::unexpected(ws.error());
  const auto state = latest_state(ws->store);
  // Severed first: the listener helper (published ports, mediation, COM1) and
  // the endpoint go in end_vm before the VM itself is terminated.
  auto ended = end_vm(host, ws->store, ws->vm, VmEnd::terminate);
  std::string detail = is_active(state) ? "quarantined: host side severed (listeners, endpoint), VM terminated; "
                                          "evidence: serial.log, events.json, workspace disks"
                                        : "quarantined: no VM was running; workspace kept as evidence";
  if (!ended) detail += " (teardown: " + ended.error().message + ")";
  return record(ws->store, make_event(request, State::quarantined, detail));
}

Result<Event> delete_workspace(WindowsHost& host, const protocol::Request& request) {
  auto ws = lock_workspace(host, request);
  if (!ws) return std::unexpected(ws.error());
  if (vm_alive(host, ws->vm)) {
    return fail(ErrorCode::conflict, "workspace '" + ws->store.runtime_id() + "' has a running compute system (" +
                                         ws->vm.compute_system_id + "): stop or kill it first");
  }
  if (auto ok = end_vm(host, ws->store, ws->vm, VmEnd::terminate); !ok) return std::unexpected(ok.error());
  Event event = make_event(request, State::stopped, "workspace deleted");
  std::error_code ec;
  std::filesystem::remove_all(ws->store.workspace_dir(), ec);
  if (ec) return fail(ErrorCode::internal, "remove " + ws->store.workspace_dir().string() + ": " + ec.message());
  std::filesystem::remove_all(ws->store.dir(), ec);
  if (ec) return fail(ErrorCode::internal, "remove " + ws->store.dir().string() + ": " + ec.message());
  return event;
}

Result<Event> console_workspace(WindowsHost& host, const protocol::Request& request) {
  (void)host;
  (void)request;
  return fail(ErrorCode::unsupported,
              "console input is not supported on windows-hyperv (COM1 is captured read-only to serial.log): use "
              "`microagent connect <name>` for a shell over Hyper-V sockets");
}

}  // namespace microagent::windows_hyperv
