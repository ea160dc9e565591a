#include "backends/linux_kvm/linux_kvm_backend.hpp"

#include <signal.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fmt/core.h>

#include "backends/linux_kvm/doctor_checks.hpp"
#include "backends/linux_kvm/guest_launch.hpp"
#include "backends/linux_kvm/host_tsc.hpp"
#include "backends/linux_kvm/host_profile.hpp"
#include "backends/linux_kvm/kvm_probe.hpp"
#include "backends/linux_kvm/root_overlay.hpp"
#include "backends/linux_kvm/vm_handle.hpp"
#include "backends/linux_kvm/vm_network.hpp"
#include "backends/linux_kvm/vm_session.hpp"
#include "backends/linux_kvm/workspace_lifecycle.hpp"
#include "common/clock.hpp"
#include "common/guest_wire.hpp"
#include "common/paths.hpp"
#include "common/process.hpp"
#include "protocol/doctor.hpp"
#include "protocol/json_codec.hpp"
#include "supervisor/event_factory.hpp"
#include "supervisor/run_end.hpp"
#include "supervisor/runtime_record.hpp"
#include "supervisor/workspace_records.hpp"

namespace microagent::linux_kvm {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using protocol::Event;
using protocol::State;

Event make_event(const protocol::Request& request, State state, std::string detail) {
  return supervisor::event_for(request, kBackendName, state, std::move(detail));
}

// Human detail for a finished run: what the guest did, or why there is no result.
std::string finished_detail(const VmOutcome& outcome, const std::optional<GuestResult>& result) {
  if (result) return supervisor::guest_result_detail(*result);
  if (!outcome.detail.empty()) return outcome.detail;
  std::string why = "VM exited before the guest delivered a result";
  if (outcome.qemu_exit) why += " (QEMU " + outcome.qemu_exit->describe() + ")";
  return why + "; see serial.log and qemu.log";
}

}  // namespace

Result<json> LinuxKvmBackend::host_facts() { return host_facts(protocol::Request{}); }

// The facts plus the doctor report: the probe VM runs once, and the accel
// reported is the one `run` will choose (both go through decide_accel).
Result<json> LinuxKvmBackend::host_facts(const protocol::Request& request) {
  // The state dir the user will run with (the host request's "stateDir").
  const auto& state_dir = request.options.host_state_dir;
  const LinuxDoctor doctor = run_linux_doctor(host_doctor_context(state_dir.value_or(default_state_dir().string())),
                                              kBackendName);
  const AccelChoice& accel = doctor.accel;
  utsname uts{};
  ::uname(&uts);
  json facts{{"os", "linux"},
             {"arch", uts.machine},
             {"kernel", uts.release},
             {"accel", accel.accel},
             {"accelReason", accel.reason},
             {"kvm", {{"present", accel.probe.device_present}, {"canRunKernel", accel.probe.ring0_ok},
                      {"detail", accel.probe.detail}}},
             {"qemu", find_program("qemu-system-x86_64").value_or("")},
             {"vsock", std::filesystem::exists("/dev/vhost-vsock") ? "vhost-vsock" : "vhost-user (microagent)"},
             {"doctor", protocol::to_json(doctor.report)}};
  return facts;
}

Result<Event> LinuxKvmBackend::handle(const protocol::Request& request) {
  switch (request.command) {
    case protocol::Command::check: return check(request);
    case protocol::Command::run: return run(request);
    case protocol::Command::inspect: return inspect_workspace(request);
    case protocol::Command::prepare: return prepare_workspace(request);
    case protocol::Command::start: return start_workspace(request);
    case protocol::Command::halt: return halt_workspace(request);
    case protocol::Command::stop: return stop_workspace(request);
    case protocol::Command::kill: return kill_workspace(request);
    case protocol::Command::quarantine: return quarantine_workspace(request);
    case protocol::Command::remove: return delete_workspace(request);
    case protocol::Command::console: return console_workspace(request);
    default:
      return fail(ErrorCode::unsupported, fmt::format("command '{}' is not supported by the {} supervisor in this version",
                                                      protocol::to_string(request.command), kBackendName));
  }
}

Result<Event> LinuxKvmBackend::check(const protocol::Request& request) {
  auto plan = plan_guest_launch(*request.config);
  if (!plan) return std::unexpected(plan.error());
  if (auto ok = preflight_network(*request.config); !ok) return std::unexpected(ok.error());
  if (!find_program("qemu-system-x86_64")) {
    return fail(ErrorCode::host_unavailable, "qemu-system-x86_64 is not installed: apt-get install qemu-system-x86");
  }
  const AccelChoice accel = host_profile().accel;
  return make_event(request, State::unknown, "host can run this workspace: " + accel.reason);
}

Result<Event> LinuxKvmBackend::run(const protocol::Request& request) {
  const auto& config = *request.config;
  if (config.command.empty()) return fail(ErrorCode::invalid_request, "config.command is required for run");
  auto opened = supervisor::store_for(request);
  if (!opened) return std::unexpected(opened.error());
  supervisor::RuntimeStore& store = *opened;
  // A foreground run writes into a fresh copy-on-write overlay of the image's
  // root disk, dropped when the run ends: the cached base never changes.
  LaunchDisks disks;
  if (!config.rootfs_path.empty()) disks.root_overlay = store.dir() / "rootfs.qcow2";
  auto plan = plan_guest_launch(config, guest_config_for(config), disks);
  if (!plan) return std::unexpected(plan.error());
  // Network preflight before anything is created (fails closed naming the fix).
  if (auto ok = preflight_network(config); !ok) return std::unexpected(ok.error());

  auto lock = store.lock();
  if (!lock) return std::unexpected(lock.error());
  if (store.exists()) {
    auto runtime = supervisor::read_runtime_record(store);
    if (runtime && *runtime && VmHandle::from_record(**runtime).qemu_alive()) {
      return fail(ErrorCode::conflict, "workspace '" + store.runtime_id() + "' is running; stop it or pick another name");
    }
  }
  if (auto ok = store.create(); !ok) return std::unexpected(ok.error());
  // Before any event: this supervisor owns the run to its end, and a `ps` or
  // `inspect` meanwhile must see it alive instead of a previous run's dead shim.
  supervisor::RuntimeRecord runtime;
  runtime.backend = kBackendName;
  runtime.supervisor_pid = ::getpid();
  runtime.foreground = true;
  if (auto ok = supervisor::write_runtime_record(store, runtime); !ok) return std::unexpected(ok.error());
  // Checked by preflight_network above; nat leases its subnet now.
  auto network = assign_network(config, store.dir().string());
  if (!network) return std::unexpected(network.error());
  apply_network_assignment(*plan, *network, config);
  if (auto ok = materialize_guest_config(*plan, store.dir()); !ok) return std::unexpected(ok.error());
  std::error_code ec;
  std::filesystem::remove(store.result_path(), ec);
  if (!disks.root_overlay.empty()) {
    std::filesystem::remove(disks.root_overlay, ec);
    if (auto ok = ensure_root_overlay(config.rootfs_path, disks.root_overlay, overlay_template_dir(config.state_dir)); !ok) {
      return std::unexpected(ok.error());
    }
  }
  // Whatever way this run ends, its overlay goes with it.
  struct OverlayCleanup {
    std::filesystem::path path;
    ~OverlayCleanup() {
      std::error_code ignored;
      if (!path.empty()) std::filesystem::remove(path, ignored);
    }
  } overlay_cleanup{disks.root_overlay};

  auto record = [&](const Event& event) { return store.record(event); };
  if (auto ok = record(make_event(request, State::prepared, "workspace prepared")); !ok) return std::unexpected(ok.error());

  const AccelChoice accel = host_profile().accel;
  auto sockets = plan_sockets(store.dir());
  if (!sockets) return std::unexpected(sockets.error());
  VmLaunchSpec launch;
  launch.machine = plan->machine;
  launch.machine.accel = accel.accel;
  launch.machine.cpu = accel.cpu;
  launch.machine.serial_log = store.serial_log_path();
  launch.sockets = *sockets;
  launch.qemu_log = store.dir() / "qemu.log";
  launch.result_port = config.result_port;
  launch.network = *network;
  launch.runtime_key = store.dir().string();
  launch.mediation = config.mediation;
  launch.tied_to_owner = true;  // a SIGKILLed supervisor (or CLI) takes QEMU and passt with it
  // Each stream is base64 on the wire (4/3) plus JSON framing.
  launch.max_result_bytes = static_cast<std::size_t>(config.output_limit) * 3 + (1 << 20);

  if (auto ok = record(make_event(request, State::starting, "starting VM (accel " + accel.accel + ")")); !ok) {
    return std::unexpected(ok.error());
  }
  auto session = VmSession::launch(launch);
  if (!session) {
    record(make_event(request, State::failed, "VM failed to start: " + session.error().message));
    return std::unexpected(session.error());
  }
  runtime.runtime_id = store.runtime_id();
  runtime.qemu_pid = (*session)->qemu_pid();
  runtime.qemu_argv = (*session)->qemu_argv();
  runtime.accel = accel.accel;
  runtime.accel_reason = accel.reason;
  runtime.kernel_path = launch.machine.kernel.string();
  runtime.initrd_path = launch.machine.initrd.string();
  runtime.rootfs_path = config.rootfs_path;
  runtime.kernel_cmdline = launch.machine.kernel_cmdline;
  runtime.vsock_device = "vhost-user (microagent)";
  runtime.sockets = runtime_sockets(*sockets);
  runtime.network = (*session)->runtime_network();
  runtime.started_at = rfc3339_now();
  if (auto ok = supervisor::write_runtime_record(store, runtime); !ok) return std::unexpected(ok.error());

  if (auto running = (*session)->wait_until_running(10s); !running) {
    (*session)->terminate(2s);
    record(make_event(request, State::failed, running.error().message));
    return std::unexpected(running.error());
  }
  record(make_event(request, State::running, fmt::format("VM running (pid {}, accel {})", (*session)->qemu_pid(), accel.accel)));

  std::optional<std::chrono::milliseconds> timeout;
  if (config.timeout_seconds > 0) timeout = std::chrono::seconds(config.timeout_seconds);
  VmOutcome outcome = (*session)->wait_for_result(timeout);
  session->reset();  // tears down QEMU (already exited), the vsock device and the sockets

  std::optional<GuestResult> result;
  if (outcome.result_json) {
    auto parsed = guest_result_from_json(*outcome.result_json);
    if (parsed) {
      result = *parsed;
    } else {
      outcome.detail = "guest sent a malformed result: " + parsed.error().message;
    }
  }
  runtime.qemu_exited = true;
  runtime.exited_at = rfc3339_now();
  if (outcome.qemu_exit) runtime.qemu_exit = outcome.qemu_exit->describe();
  supervisor::write_runtime_record(store, runtime);

  return supervisor::record_run_end(store, request, kBackendName, result, finished_detail(outcome, result));
}

}  // namespace microagent::linux_kvm
