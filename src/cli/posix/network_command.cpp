// `microagent network NAME`: a workspace's network assignment as recorded in
// runtime.json (mode, address, subnet, gateway, DNS, TAP/bridge, forwards),
// or, before its first boot, what its stored config asks for.
#include <iostream>

#include <fmt/core.h>

#include "cli/commands.hpp"
#include "cli/workspace_client.hpp"
#include "common/atomic_file.hpp"
#include "net/network_plan.hpp"
#include "protocol/json_codec.hpp"
#include "supervisor/runtime_record.hpp"

namespace microagent::cli {
namespace {

using nlohmann::json;

// A workspace's network, typed whichever document it comes from.
struct NetworkView {
  net::NetworkAssignment assignment;
  std::string source;          // "runtime" (what the host set up) or "config" (asked for, not booted yet)
  std::optional<bool> active;  // runtime only: the VM still runs and is not severed
};

json to_json(const NetworkView& view) {
  json n = net::assignment_to_json(view.assignment);
  n["source"] = view.source;
  if (view.active) n["active"] = *view.active;
  return n;
}

Result<NetworkView> network_of(const GlobalOptions& global, const std::string& name) {
  auto id = protocol::RuntimeId::parse(name);
  if (!id) return std::unexpected(id.error());
  const supervisor::RuntimeStore store(absolute_state_dir(global), std::move(*id));
  if (auto ok = store.check_workspace(); !ok) return std::unexpected(ok.error());
  if (auto runtime = supervisor::read_runtime_record(store); runtime && *runtime && (*runtime)->network) {
    const auto& record = **runtime;
    return NetworkView{record.network->assignment, "runtime", !record.qemu_exited && record.severed_at.empty()};
  }
  auto config = store.read_config();
  if (!config) return std::unexpected(config.error());
  if (*config) {
    const protocol::WorkspaceConfig* stored = &**config;
    NetworkView view{{}, "config", std::nullopt};
    view.assignment.mode = stored->network.mode;
    view.assignment.bridge = stored->network.interface;
    view.assignment.forwards = stored->network.port_forwards;
    return view;
  }
  return fail(ErrorCode::not_found, "workspace '" + name + "' has no network recorded yet: start it first");
}

void print_human(const NetworkView& view) {
  const auto& a = view.assignment;
  auto line = [](const char* label, const std::string& value) {
    if (!value.empty()) std::cout << fmt::format("{:<10} {}\n", label, value);
  };
  line("mode", std::string(protocol::to_string(a.mode)));
  if (!a.guest_address.empty()) line("address", fmt::format("{}/{}", a.guest_address, a.prefix));
  line("subnet", a.subnet);
  line("gateway", a.gateway);
  std::string dns;
  for (const auto& d : a.dns) dns += (dns.empty() ? "" : " ") + d;
  line("dns", dns);
  line("tap", a.tap);
  line("bridge", a.bridge);
  line("mac", a.mac);
  for (const auto& f : a.forwards) {
    line("publish", fmt::format("{}:{} -> guest {}/{}", f.host, f.host_port, f.guest_port, f.protocol));
  }
  if (view.source == "config") std::cout << "(not started yet: this is the requested configuration)\n";
}

}  // namespace

void add_network_command(CLI::App& app, GlobalOptions& global) {
  auto name = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("network", "Show a workspace's network: mode, address, subnet, gateway, DNS, forwards");
  add_workspace_name(cmd, *name);
  cmd->callback([&global, name] {
    auto network = network_of(global, *name);
    if (!network) {
      global.exit_code = report_error(global, std::string(to_string(network.error().code)), network.error().message);
      return;
    }
    if (global.json) {
      std::cout << to_json(*network).dump(2) << std::endl;
    } else {
      print_human(*network);
    }
    global.exit_code = 0;
  });
}

}  // namespace microagent::cli
