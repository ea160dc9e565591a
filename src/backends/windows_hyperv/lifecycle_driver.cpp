#include "backends/windows_hyperv/lifecycle_driver.hpp"

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
#include "supervisor/workspace_records.hpp"

namespace microagent::windows_hyperv {

using protocol::Event;
using protocol::State;
using supervisor::record;
using supervisor::RuntimeStore;
using supervisor::VmEnding;

std::string_view HypervLifecycleDriver::backend() const { return kBackendName; }

Result<void> HypervLifecycleDriver::check(const protocol::Request& request) {
  const auto& config = *request.config;
  if (request.command == protocol::Command::start) return preflight_vm(host_, config);
  if (auto ok = validate_network(config.network); !ok) return ok;
  return validate_disk_config(config);
}

Result<std::string> HypervLifecycleDriver::prepare(const RuntimeStore& store, const protocol::Request& request) {
  const auto& config = *request.config;
  auto disks = ensure_workspace_disks(config, store.workspace_dir());
  if (!disks) return std::unexpected(disks.error());
  if (auto ok = store.write_config(config); !ok) {
    return std::unexpected(ok.error());
  }
  return "workspace prepared (" + std::to_string(disks->scsi.size()) + " VHD(s), no compute system)";
}

Result<Event> HypervLifecycleDriver::launch(const RuntimeStore& store, const protocol::Request& request, bool) {
  const auto& config = *request.config;
  std::error_code ec;
  std::filesystem::remove(store.result_path(), ec);
  std::filesystem::remove(store.readiness_path(), ec);
  auto failed = [&](VmRecord* vm, const Error& error) -> Result<Event> {
    if (vm) end_vm(host_, store, *vm, VmEnd::terminate);
    store.record(make_event(request, State::failed, "start failed: " + error.message));
    return std::unexpected(error);
  };
  if (auto ok = store.record(make_event(request, State::starting, "creating compute system")); !ok) {
    return std::unexpected(ok.error());
  }
  auto created = create_vm(host_, store, config, true);
  if (!created) return failed(nullptr, created.error());
  VmRecord& vm = created->record;
  if (auto ok = host_.start_compute_system(vm.compute_system_id); !ok) return failed(&vm, ok.error());
  vm.extra["startedAt"] = rfc3339_now();
  // `connect` addresses the VM's Hyper-V sockets by this id, without HCS.
  auto runtime_id = host_.vm_runtime_id(vm.compute_system_id);
  if (!runtime_id) return failed(&vm, runtime_id.error());
  vm.extra["vmRuntimeId"] = *runtime_id;
  ListenerHelperSpec helper{store.runtime_id(), vm.compute_system_id, store.dir(), vm.com1_pipe, config.result_port,
                            config.network.port_forwards, config.mediation};
  auto pid = host_.spawn_listener_helper(helper);
  if (!pid) return failed(&vm, pid.error());
  vm.listener_pid = *pid;
  vm.extra["listenerLog"] = (store.dir() / "hvsock-listener.log").string();
  if (auto ok = store.write_runtime(to_json(vm)); !ok) return failed(&vm, ok.error());
  return record(store, make_event(request, State::running, "compute system " + vm.compute_system_id + " running"));
}

bool HypervLifecycleDriver::alive(const RuntimeStore& store) { return vm_alive(host_, read_vm_record(store)); }

// A recorded running VM that HCS no longer has ended on its own (guest
// poweroff, host reboot): settled as stopped, what it held released.
std::optional<supervisor::Settlement> HypervLifecycleDriver::reconcile(const RuntimeStore& store) {
  VmRecord vm = read_vm_record(store);
  if (vm_alive(host_, vm)) return std::nullopt;
  // HCS not answering (not loaded, access denied) says nothing about the VM:
  // it stays recorded as it is rather than being settled as gone.
  if (!vm.compute_system_id.empty() && !vm.exited && !host_.compute_system_state(vm.compute_system_id)) {
    return std::nullopt;
  }
  end_vm(host_, store, vm, VmEnd::terminate);
  return supervisor::Settlement{State::stopped,
                                "compute system " + vm.compute_system_id + " is gone (guest powered off)"};
}

Result<Event> HypervLifecycleDriver::end(const RuntimeStore& store, const protocol::Request& request, VmEnding how) {
  static constexpr struct {
    VmEnd end;
    State to;
    const char* detail;
  } kEndings[] = {
      {VmEnd::shutdown, State::halted, "halted: guest shut down; disk and identity kept for the next start"},
      {VmEnd::shutdown, State::stopped, "stopped by request"},
      {VmEnd::terminate, State::stopped, "killed by request (compute system terminated)"},
  };
  const auto& ending = kEndings[static_cast<int>(how)];
  VmRecord vm = read_vm_record(store);
  record(store, make_event(request, State::stopping, ending.detail));
  auto ended = end_vm(host_, store, vm, ending.end, std::chrono::seconds(request.options.grace_seconds));
  std::string detail = ending.detail;
  if (!ended) detail += " (teardown: " + ended.error().message + ")";
  return record(store, make_event(request, ending.to, detail));
}

// No memory capture on Hyper-V yet: what stays is what the workspace already has.
std::string HypervLifecycleDriver::capture(const RuntimeStore&, const protocol::Request&) {
  return "evidence: serial.log, events.json, workspace disks";
}

// Severed first: end_vm stops the listener helper (published ports, mediation,
// COM1) and deletes the endpoint before it terminates the VM.
Result<Event> HypervLifecycleDriver::sever(const RuntimeStore& store, const protocol::Request& request,
                                          const std::string& evidence) {
  VmRecord vm = read_vm_record(store);
  auto ended = end_vm(host_, store, vm, VmEnd::terminate);
  std::string detail = "quarantined: host side severed (listeners, endpoint), VM terminated; " + evidence;
  if (!ended) detail += " (teardown: " + ended.error().message + ")";
  return record(store, make_event(request, State::quarantined, detail));
}

Result<void> HypervLifecycleDriver::release(const RuntimeStore& store) {
  VmRecord vm = read_vm_record(store);
  return end_vm(host_, store, vm, VmEnd::terminate);
}

std::optional<std::string> HypervLifecycleDriver::console_unsupported() const {
  return "console input is not supported on windows-hyperv (COM1 is captured read-only to serial.log): use "
         "`microagent connect <name>` for a shell over Hyper-V sockets";
}

Result<void> HypervLifecycleDriver::console(const RuntimeStore&, const std::string&) {
  return fail(ErrorCode::unsupported, *console_unsupported());
}

void HypervLifecycleDriver::describe(const RuntimeStore& store, const protocol::Request&, Event& event) {
  protocol::Readiness readiness;
  // Guest and shell readiness come from guest init (via the listener helper's
  // readiness.json), never from HCS saying "Running".
  if (supervisor::is_active(event.state)) {
    if (auto doc = store.read_document(store.readiness_path()); doc && *doc) {
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
  if (std::filesystem::exists(store.result_path(), ec)) {
    readiness.result_ready = {true, rfc3339_now(), "result.json delivered", ""};
  }
  readiness.mediation_ready.detail = "mediation readiness is not reported on windows-hyperv yet";
  event.readiness = readiness;
}

}  // namespace microagent::windows_hyperv
