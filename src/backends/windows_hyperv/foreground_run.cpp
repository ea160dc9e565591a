#include "backends/windows_hyperv/foreground_run.hpp"

#include <fmt/core.h>

#include "backends/windows_hyperv/doctor_checks.hpp"
#include "backends/windows_hyperv/hv_constants.hpp"
#include "backends/windows_hyperv/hv_event.hpp"
#include "backends/windows_hyperv/network_attachment.hpp"
#include "backends/windows_hyperv/vm_launch.hpp"
#include "backends/windows_hyperv/vm_preflight.hpp"
#include "backends/windows_hyperv/workspace_disks.hpp"
#include "common/clock.hpp"
#include "common/guest_wire.hpp"
#include "supervisor/event_factory.hpp"
#include "supervisor/run_end.hpp"
#include "supervisor/workspace_records.hpp"
#include "supervisor/runtime_store.hpp"

namespace microagent::windows_hyperv {

using nlohmann::json;
using protocol::Event;
using protocol::State;

namespace {

}  // namespace

Result<Event> run_foreground(WindowsHost& host, const protocol::Request& request) {
  const auto& config = *request.config;
  if (config.command.empty()) return fail(ErrorCode::invalid_request, "config.command is required for run");
  if (auto ok = preflight_vm(host, config); !ok) return std::unexpected(ok.error());

  auto opened = supervisor::store_for(request);
  if (!opened) return std::unexpected(opened.error());
  supervisor::RuntimeStore& store = *opened;
  auto lock = store.lock();
  if (!lock) return std::unexpected(lock.error());
  if (store.exists() && vm_alive(host, read_vm_record(store))) {
    return fail(ErrorCode::conflict, "workspace '" + store.runtime_id() + "' is running; stop it or pick another name");
  }
  if (auto ok = store.create(); !ok) return std::unexpected(ok.error());
  std::error_code ec;
  std::filesystem::remove(store.result_path(), ec);
  auto record = [&](const Event& event) { return store.record(event); };
  if (auto ok = record(make_event(request, State::prepared, "workspace prepared")); !ok) return std::unexpected(ok.error());

  auto failed = [&](VmRecord* vm, const Error& error) -> Result<Event> {
    if (vm) end_vm(host, store, *vm, VmEnd::terminate);
    record(make_event(request, State::failed, error.message));
    return std::unexpected(error);
  };
  auto created = create_vm(host, store, config, false);
  if (!created) return failed(nullptr, created.error());
  VmRecord& vm = created->record;
  if (auto ok = record(make_event(request, State::starting, "starting compute system " + vm.compute_system_id)); !ok) {
    return failed(&vm, ok.error());
  }
  // The result listener and COM1 capture exist before the guest can use them.
  auto listener = host.listen_guest_service(vm.compute_system_id, config.result_port);
  if (!listener) return failed(&vm, listener.error());
  auto serial = host.capture_serial(vm.com1_pipe, store.serial_log_path());
  if (!serial) return failed(&vm, serial.error());
  if (auto ok = host.start_compute_system(vm.compute_system_id); !ok) {
    (*serial)->finish();
    return failed(&vm, ok.error());
  }
  vm.extra["startedAt"] = rfc3339_now();
  store.write_runtime(to_json(vm));
  record(make_event(request, State::running, "compute system " + vm.compute_system_id + " running"));

  std::optional<std::chrono::milliseconds> timeout;
  if (config.timeout_seconds > 0) timeout = std::chrono::seconds(config.timeout_seconds);
  auto received = (*listener)->receive(timeout);
  // The guest powers off after delivering; whatever is left of the VM goes now.
  auto ended = end_vm(host, store, vm, VmEnd::terminate);
  (*serial)->finish();

  std::optional<GuestResult> result;
  std::string detail;
  if (!received) {
    detail = "no result from the guest: " + received.error().message + "; see serial.log";
  } else if (auto parsed = guest_result_from_json(*received); parsed) {
    result = *parsed;
    detail = supervisor::guest_result_detail(*result);
  } else {
    detail = "guest sent a malformed result: " + parsed.error().message;
  }
  if (!ended) detail += "; teardown: " + ended.error().message;

  return supervisor::record_run_end(store, request, kBackendName, result, std::move(detail));
}

}  // namespace microagent::windows_hyperv
