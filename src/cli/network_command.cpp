// `microagent network NAME`: a workspace's network assignment as recorded in
// runtime.json (mode, address, subnet, gateway, DNS, TAP/bridge, forwards),
// or, before its first boot, what its stored config asks for.
#include <iostream>

#include <fmt/core.h>

#include "cli/commands.hpp"
#include "cli/workspace_client.hpp"
#include "common/atomic_file.hpp"
#include "protocol/json_codec.hpp"

namespace microagent::cli {
namespace {

using nlohmann::json;

Result<json> read_json_file(const std::filesystem::path& path) {
  auto text = read_file(path);
  if (!text) return std::unexpected(text.error());
  auto j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(ErrorCode::internal, path.string() + " is not a JSON object");
  return j;
}

// The assignment, plus "source": runtime (what the host set up) or config (asked for, not booted yet).
Result<json> network_of(const GlobalOptions& global, const std::string& name) {
  if (auto ok = protocol::validate_runtime_id(name); !ok) return std::unexpected(ok.error());
  const auto dir = std::filesystem::path(absolute_state_dir(global)) / name;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return fail(ErrorCode::not_found, "no workspace named '" + name + "'");
  if (auto runtime = read_json_file(dir / "runtime.json"); runtime && runtime->contains("network")) {
    json n = (*runtime)["network"];
    n["source"] = "runtime";
    n["active"] = !runtime->value("qemuExited", false) && !runtime->contains("severedAt");
    return n;
  }
  if (auto config = read_json_file(dir / "config.json"); config && config->contains("network")) {
    json n = (*config)["network"];
    n["source"] = "config";
    return n;
  }
  return fail(ErrorCode::not_found, "workspace '" + name + "' has no network recorded yet: start it first");
}

void print_human(const json& n) {
  auto text = [&](const char* key) { return n.contains(key) && n[key].is_string() ? n[key].get<std::string>() : ""; };
  auto line = [](const char* label, const std::string& value) {
    if (!value.empty()) std::cout << fmt::format("{:<10} {}\n", label, value);
  };
  line("mode", text("mode"));
  if (n.contains("address") && !text("address").empty()) {
    line("address", fmt::format("{}/{}", text("address"), n.value("prefix", 0)));
  }
  line("subnet", text("subnet"));
  line("gateway", text("gateway"));
  if (n.contains("dns") && n["dns"].is_array()) {
    std::string dns;
    for (const auto& d : n["dns"]) dns += (dns.empty() ? "" : " ") + d.get<std::string>();
    line("dns", dns);
  }
  line("tap", text("tap"));
  line("bridge", text("bridge").empty() ? text("interface") : text("bridge"));
  line("mac", text("mac"));
  const char* forwards_key = n.contains("forwards") ? "forwards" : "portForwards";
  if (n.contains(forwards_key) && n[forwards_key].is_array()) {
    for (const auto& f : n[forwards_key]) {
      line("publish", fmt::format("{}:{} -> guest {}/{}", f.value("host", "127.0.0.1"), f.value("hostPort", 0),
                                  f.value("guestPort", 0), f.value("protocol", "tcp")));
    }
  }
  if (text("source") == "config") std::cout << "(not started yet: this is the requested configuration)\n";
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
      std::cout << network->dump(2) << std::endl;
    } else {
      print_human(*network);
    }
    global.exit_code = 0;
  });
}

}  // namespace microagent::cli
