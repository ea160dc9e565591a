#include "backends/windows_hyperv/vm_record.hpp"

#include "backends/windows_hyperv/hv_constants.hpp"
#include "common/clock.hpp"
#include "common/guest_wire.hpp"

#include <thread>

namespace microagent::windows_hyperv {

using nlohmann::json;
using namespace std::chrono_literals;

json to_json(const VmRecord& record) {
  json runtime = record.extra.is_object() ? record.extra : json::object();
  runtime["backend"] = kBackendName;
  runtime["computeSystemId"] = record.compute_system_id;
  runtime["detached"] = record.detached;
  runtime["com1Pipe"] = record.com1_pipe;
  runtime["network"] = record.network ? to_json(*record.network) : json(nullptr);
  runtime["listenerPid"] = record.listener_pid;
  runtime["exited"] = record.exited;
  return runtime;
}

VmRecord vm_record_from_json(const json& runtime) {
  VmRecord record;
  if (!runtime.is_object()) return record;
  auto text = [&](const json& object, const char* key) {
    auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  record.compute_system_id = text(runtime, "computeSystemId");
  record.detached = runtime.value("detached", false);
  record.com1_pipe = text(runtime, "com1Pipe");
  if (auto it = runtime.find("network"); it != runtime.end() && it->is_object()) {
    record.network = NetworkAttachment{text(*it, "networkId"), text(*it, "networkName"), text(*it, "endpointId"),
                                       text(*it, "macAddress"), text(*it, "ipAddress")};
  }
  if (auto it = runtime.find("listenerPid"); it != runtime.end() && it->is_number_unsigned()) {
    record.listener_pid = it->get<std::uint32_t>();
  }
  record.exited = runtime.value("exited", false);
  record.extra = runtime;
  for (const char* key : {"backend", "computeSystemId", "detached", "com1Pipe", "network", "listenerPid", "exited"}) {
    record.extra.erase(key);
  }
  return record;
}

VmRecord read_vm_record(const supervisor::RuntimeStore& store) {
  auto runtime = store.read_runtime();
  return vm_record_from_json(runtime ? *runtime : json::object());
}

bool vm_alive(WindowsHost& host, const VmRecord& record) {
  if (record.compute_system_id.empty() || record.exited) return false;
  auto state = host.compute_system_state(record.compute_system_id);
  if (!state) return false;
  return *state == ComputeSystemState::created || *state == ComputeSystemState::running ||
         *state == ComputeSystemState::paused;
}

namespace {

bool wait_until_gone(WindowsHost& host, const VmRecord& record, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (vm_alive(host, record)) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(100ms);
  }
  return true;
}

}  // namespace

Result<void> end_vm(WindowsHost& host, const supervisor::RuntimeStore& store, VmRecord& record, VmEnd how,
                    std::chrono::seconds grace) {
  std::optional<Error> first;
  auto keep = [&](Result<void> step) {
    if (!step && !first) first = step.error();
  };
  if (record.listener_pid != 0) {
    host.stop_process(record.listener_pid);
    record.listener_pid = 0;
  }
  if (!record.compute_system_id.empty() && !record.exited) {
    if (vm_alive(host, record)) {
      bool stopped = false;
      if (how == VmEnd::shutdown) {
        // Guest init halts cleanly when asked on its control port (the guest
        // has no hv_utils, so HCS's own shutdown request may go unheard).
        auto reply = host.guest_request(record.compute_system_id, kControlPort, halt_command_line(grace), 5s);
        if (reply && reply->find(R"("ok":true)") != std::string::npos) stopped = wait_until_gone(host, record, 10s + grace);
        if (!stopped) stopped = host.shutdown_compute_system(record.compute_system_id, 10s).has_value();
      }
      if (!stopped) keep(host.terminate_compute_system(record.compute_system_id));
    }
    host.close_compute_system(record.compute_system_id);
    record.exited = true;
    record.extra["exitedAt"] = rfc3339_now();
  }
  if (record.network && !record.network->endpoint_id.empty()) {
    keep(release_endpoint(host, record.network->endpoint_id));
    record.extra["releasedEndpointId"] = record.network->endpoint_id;
    record.network->endpoint_id.clear();
  }
  keep(store.write_runtime(to_json(record)));
  if (first) return std::unexpected(*first);
  return {};
}

}  // namespace microagent::windows_hyperv
