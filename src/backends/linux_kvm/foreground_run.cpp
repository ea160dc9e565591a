#include "backends/linux_kvm/foreground_run.hpp"

#include <unistd.h>

#include <fmt/core.h>

#include "backends/linux_kvm/host_profile.hpp"
#include "backends/linux_kvm/launch_spec.hpp"
#include "backends/linux_kvm/linux_kvm_backend.hpp"
#include "backends/linux_kvm/root_overlay.hpp"
#include "backends/linux_kvm/vm_handle.hpp"
#include "backends/linux_kvm/vm_network.hpp"
#include "common/clock.hpp"
#include "common/guest_wire.hpp"
#include "common/paths.hpp"
#include "supervisor/event_factory.hpp"
#include "supervisor/run_end.hpp"
#include "supervisor/runtime_record.hpp"
#include "supervisor/workspace_records.hpp"

namespace microagent::linux_kvm {
namespace {

using namespace std::chrono_literals;
using protocol::Event;
using protocol::State;
using supervisor::RuntimeStore;

// Human detail for a finished run: what the guest did, or why there is no result.
std::string finished_detail(const VmOutcome& outcome, const std::optional<GuestResult>& result) {
  if (result) return supervisor::guest_result_detail(*result);
  if (!outcome.detail.empty()) return outcome.detail;
  std::string why = "VM exited before the guest delivered a result";
  if (outcome.qemu_exit) why += " (QEMU " + outcome.qemu_exit->describe() + ")";
  return why + "; see serial.log and qemu.log";
}

// A foreground run writes into a fresh copy-on-write overlay of the image's root
// disk, removed when the run ends however it ends: the cached base never changes.
class RunOverlay {
 public:
  explicit RunOverlay(std::filesystem::path path) : path_(std::move(path)) {}
  ~RunOverlay() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove(path_, ignored);
  }
  RunOverlay(const RunOverlay&) = delete;
  RunOverlay& operator=(const RunOverlay&) = delete;

  Result<void> create(const protocol::WorkspaceConfig& config) const {
    if (path_.empty()) return {};
    std::error_code ec;
    std::filesystem::remove(path_, ec);
    return ensure_root_overlay(config.rootfs_path, path_, overlay_template_dir(config.state_dir));
  }

 private:
  std::filesystem::path path_;
};

// What runtime.json says of a running foreground VM.
void describe_session(supervisor::RuntimeRecord& runtime, const RuntimeStore& store, const VmSession& session,
                      const VmLaunchSpec& launch, const AccelChoice& accel, const protocol::WorkspaceConfig& config) {
  runtime.runtime_id = store.runtime_id();
  runtime.qemu_pid = session.qemu_pid();
  runtime.qemu_argv = session.qemu_argv();
  runtime.accel = accel.accel;
  runtime.accel_reason = accel.reason;
  runtime.kernel_path = launch.machine.kernel.string();
  runtime.initrd_path = launch.machine.initrd.string();
  runtime.rootfs_path = config.rootfs_path;
  runtime.kernel_cmdline = launch.machine.kernel_cmdline;
  runtime.vsock_device = "vhost-user (microagent)";
  runtime.sockets = runtime_sockets(launch.sockets);
  runtime.network = session.runtime_network();
  runtime.started_at = rfc3339_now();
}

// The guest's result from what the session saw; a malformed one becomes the outcome's detail.
std::optional<GuestResult> parsed_result(VmOutcome& outcome) {
  if (!outcome.result_json) return std::nullopt;
  auto parsed = guest_result_from_json(*outcome.result_json);
  if (parsed) return *parsed;
  outcome.detail = "guest sent a malformed result: " + parsed.error().message;
  return std::nullopt;
}

}  // namespace

Result<Event> foreground_run(const protocol::Request& request) {
  const auto& config = *request.config;
  if (config.command.empty()) return fail(ErrorCode::invalid_request, "config.command is required for run");
  auto opened = supervisor::store_for(request);
  if (!opened) return std::unexpected(opened.error());
  RuntimeStore& store = *opened;
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
  const AccelChoice accel = host_profile().accel;
  auto launch = workspace_launch_spec(store, config, std::move(*plan), accel);
  if (!launch) return std::unexpected(launch.error());
  launch->tied_to_owner = true;  // a SIGKILLed supervisor (or CLI) takes QEMU and passt with it
  std::error_code ec;
  std::filesystem::remove(store.result_path(), ec);
  const RunOverlay overlay(disks.root_overlay);
  if (auto ok = overlay.create(config); !ok) return std::unexpected(ok.error());

  if (auto ok = store.record(make_event(request, State::prepared, "workspace prepared")); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = store.record(make_event(request, State::starting, "starting VM (accel " + accel.accel + ")")); !ok) {
    return std::unexpected(ok.error());
  }
  auto session = VmSession::launch(*launch);
  if (!session) {
    store.record(make_event(request, State::failed, "VM failed to start: " + session.error().message));
    return std::unexpected(session.error());
  }
  describe_session(runtime, store, **session, *launch, accel, config);
  if (auto ok = supervisor::write_runtime_record(store, runtime); !ok) return std::unexpected(ok.error());
  if (auto running = (*session)->wait_until_running(10s); !running) {
    (*session)->terminate(2s);
    store.record(make_event(request, State::failed, running.error().message));
    return std::unexpected(running.error());
  }
  store.record(make_event(request, State::running,
                          fmt::format("VM running (pid {}, accel {})", (*session)->qemu_pid(), accel.accel)));

  std::optional<std::chrono::milliseconds> timeout;
  if (config.timeout_seconds > 0) timeout = std::chrono::seconds(config.timeout_seconds);
  VmOutcome outcome = (*session)->wait_for_result(timeout);
  session->reset();  // tears down QEMU (already exited), the vsock device and the sockets
  const std::optional<GuestResult> result = parsed_result(outcome);
  runtime.qemu_exited = true;
  runtime.exited_at = rfc3339_now();
  if (outcome.qemu_exit) runtime.qemu_exit = outcome.qemu_exit->describe();
  supervisor::write_runtime_record(store, runtime);
  return supervisor::record_run_end(store, request, kBackendName, result, finished_detail(outcome, result));
}

}  // namespace microagent::linux_kvm
