#pragma once
// A fake WindowsHost for the Linux test build: compute systems, HCN networks
// and endpoints live in maps; every call is logged; any call can be told to
// fail. The guest is scripted: `guest_result` is what arrives on the result
// port, `guest_serial` what COM1 carried by the time capture finishes.
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "backends/windows_hyperv/windows_host.hpp"
#include "common/guest_wire.hpp"

namespace microagent::windows_hyperv::testing {

class FakeWindowsHost : public WindowsHost {
 public:
  // ---- what the test sets up
  HostCapabilities caps = all_ok();
  supervisor::HostCapacity host_capacity{64 * 1024, 16};
  std::vector<HcnNetwork> networks;
  std::optional<std::string> guest_result = default_result();
  std::string guest_serial = "[    0.000000] Linux version 6.1 (fake)\nmicroagent guest init\n";
  std::map<std::string, Error> failures;  // call name ("create_compute_system", ...) -> its error
  bool guest_powers_off_after_result = true;

  // ---- what the test inspects
  std::vector<std::string> calls;
  std::map<std::string, ComputeSystemState> systems;
  std::map<std::string, std::string> documents;  // compute system id -> document
  std::set<std::string> open_handles;
  std::map<std::string, std::string> endpoints;  // endpoint id -> network id
  std::vector<std::string> deleted_endpoints;
  std::vector<std::string> created_networks;     // settings documents
  std::vector<std::pair<std::string, std::string>> grants;
  std::vector<std::uint32_t> listened_ports;
  std::vector<ListenerHelperSpec> helpers;
  std::set<std::uint32_t> live_processes;
  int serial_captures_finished = 0;
  std::vector<std::string> control_requests;  // "<port> <line>"

  // What guest init sends for `echo hi; exit 0`.
  static std::string default_result() {
    GuestResult result;
    result.exit_code = 0;
    result.stdout_data = "hi\n";
    result.stdout_bytes = 3;
    return guest_result_to_json(result);
  }

  static HostCapabilities all_ok() {
    HostCapabilities c;
    c.hcs = {true, "computecore.dll loaded"};
    c.virtualization = {true, "hypervisor present"};
    c.hcs_access = {true, "HCS answers"};
    c.hcn = {true, "computenetwork.dll loaded"};
    c.hvsocket = {true, "AF_HYPERV ok"};
    c.named_pipes = {true, "pipes ok"};
    return c;
  }

  HostCapabilities probe() override { return caps; }
  supervisor::HostCapacity capacity() override { return host_capacity; }
  std::string new_guid() override { return fmt::format("00000000-0000-0000-0000-{:012}", ++guid_counter_); }

  Result<void> create_compute_system(const std::string& id, const std::string& document) override {
    if (auto f = failing("create_compute_system")) return std::unexpected(*f);
    if (systems.count(id) && systems[id] != ComputeSystemState::stopped) {
      return fail(ErrorCode::conflict, "compute system exists: " + id);
    }
    systems[id] = ComputeSystemState::created;
    documents[id] = document;
    open_handles.insert(id);
    return {};
  }
  Result<void> start_compute_system(const std::string& id) override {
    if (auto f = failing("start_compute_system")) return std::unexpected(*f);
    if (!systems.count(id)) return fail(ErrorCode::not_found, "no compute system " + id);
    systems[id] = ComputeSystemState::running;
    return {};
  }
  Result<void> shutdown_compute_system(const std::string& id, std::chrono::milliseconds) override {
    if (auto f = failing("shutdown_compute_system")) return std::unexpected(*f);
    systems[id] = ComputeSystemState::stopped;
    return {};
  }
  Result<void> terminate_compute_system(const std::string& id) override {
    if (auto f = failing("terminate_compute_system")) return std::unexpected(*f);
    systems[id] = ComputeSystemState::stopped;
    return {};
  }
  Result<ComputeSystemState> compute_system_state(const std::string& id) override {
    if (auto f = failing("compute_system_state")) return std::unexpected(*f);
    auto it = systems.find(id);
    return it == systems.end() ? ComputeSystemState::absent : it->second;
  }
  Result<std::string> vm_runtime_id(const std::string& id) override {
    if (auto f = failing("vm_runtime_id")) return std::unexpected(*f);
    if (!systems.count(id)) return fail(ErrorCode::not_found, "no compute system " + id);
    return "5a1e0000-0000-4000-8000-" + fmt::format("{:012}", id.size());
  }
  void close_compute_system(const std::string& id) override {
    calls.push_back("close_compute_system");
    open_handles.erase(id);
  }
  Result<void> grant_vm_access(const std::string& id, const std::filesystem::path& path) override {
    if (auto f = failing("grant_vm_access")) return std::unexpected(*f);
    grants.emplace_back(id, path.string());
    return {};
  }

  Result<std::vector<HcnNetwork>> enumerate_networks() override {
    if (auto f = failing("enumerate_networks")) return std::unexpected(*f);
    return networks;
  }
  Result<HcnNetwork> create_network(const std::string& id, const std::string& settings) override {
    if (auto f = failing("create_network")) return std::unexpected(*f);
    created_networks.push_back(settings);
    auto doc = nlohmann::json::parse(settings);
    HcnNetwork network{id, doc.value("Name", ""), doc.value("Type", "")};
    networks.push_back(network);
    return network;
  }
  Result<HcnEndpoint> create_endpoint(const std::string& network_id, const std::string& id,
                                      const std::string& settings) override {
    if (auto f = failing("create_endpoint")) return std::unexpected(*f);
    last_endpoint_settings = settings;
    endpoints[id] = network_id;
    return HcnEndpoint{id, network_id, "00-15-5D-00-00-01", "192.168.127.2"};
  }
  Result<void> delete_endpoint(const std::string& id) override {
    if (auto f = failing("delete_endpoint")) return std::unexpected(*f);
    if (!endpoints.erase(id)) return fail(ErrorCode::not_found, "no endpoint " + id);
    deleted_endpoints.push_back(id);
    return {};
  }

  Result<std::unique_ptr<GuestServiceListener>> listen_guest_service(const std::string& id, std::uint32_t port) override {
    if (auto f = failing("listen_guest_service")) return std::unexpected(*f);
    listened_ports.push_back(port);
    return std::unique_ptr<GuestServiceListener>(std::make_unique<Listener>(*this, id));
  }
  Result<std::unique_ptr<SerialCapture>> capture_serial(const std::string& pipe, const std::filesystem::path& log) override {
    if (auto f = failing("capture_serial")) return std::unexpected(*f);
    captured_pipe = pipe;
    return std::unique_ptr<SerialCapture>(std::make_unique<Capture>(*this, log));
  }

  // Guest init answers a halt on its control port and powers off.
  Result<std::string> guest_request(const std::string& id, std::uint32_t port, const std::string& line,
                                    std::chrono::milliseconds) override {
    if (auto f = failing("guest_request")) return std::unexpected(*f);
    control_requests.push_back(fmt::format("{} {}", port, line));
    if (line.find(R"("halt")") != std::string::npos) systems[id] = ComputeSystemState::stopped;
    return std::string(R"({"ok":true})");
  }

  Result<std::uint32_t> spawn_listener_helper(const ListenerHelperSpec& spec) override {
    if (auto f = failing("spawn_listener_helper")) return std::unexpected(*f);
    helpers.push_back(spec);
    const std::uint32_t pid = 4000 + static_cast<std::uint32_t>(helpers.size());
    live_processes.insert(pid);
    return pid;
  }
  bool process_alive(std::uint32_t pid) override { return live_processes.count(pid) > 0; }
  void stop_process(std::uint32_t pid) override {
    calls.push_back(fmt::format("stop_process {}", pid));
    live_processes.erase(pid);
  }

  std::string last_endpoint_settings;
  std::string captured_pipe;

 private:
  std::optional<Error> failing(const std::string& call) {
    calls.push_back(call);
    auto it = failures.find(call);
    if (it == failures.end()) return std::nullopt;
    return it->second;
  }

  struct Listener : GuestServiceListener {
    Listener(FakeWindowsHost& host, std::string id) : host(host), id(std::move(id)) {}
    Result<std::string> receive(std::optional<std::chrono::milliseconds>) override {
      host.calls.push_back("receive");
      if (!host.guest_result) return fail(ErrorCode::internal, "timed out waiting for the guest's result");
      if (host.guest_powers_off_after_result) host.systems[id] = ComputeSystemState::stopped;
      return *host.guest_result;
    }
    FakeWindowsHost& host;
    std::string id;
  };
  struct Capture : SerialCapture {
    Capture(FakeWindowsHost& host, std::filesystem::path log) : host(host), log(std::move(log)) {}
    void finish() override {
      if (done) return;
      done = true;
      std::ofstream(log, std::ios::app) << host.guest_serial;
      ++host.serial_captures_finished;
    }
    FakeWindowsHost& host;
    std::filesystem::path log;
    bool done = false;
  };

  int guid_counter_ = 0;
};

}  // namespace microagent::windows_hyperv::testing
