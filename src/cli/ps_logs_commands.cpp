// `ps` (every workspace in the state dir, through the supervisor's inspect)
// and `logs [-f]` (the guest's serial console log).
#include <fstream>
#include <iostream>
#include <thread>

#include <fmt/core.h>

#include "cli/commands.hpp"
#include "cli/workspace_client.hpp"
#include "protocol/json_codec.hpp"
#include "supervisor/runtime_store.hpp"

namespace microagent::cli {
namespace {

// A row of ps: the supervisor's inspect (which settles a VM that is gone),
// else the recorded event, saying why it is only that.
std::optional<nlohmann::json> listed_event(const GlobalOptions& global, const std::string& name) {
  auto live = workspace_request(global, protocol::Command::inspect, name);
  if (live) return *live;
  auto id = protocol::RuntimeId::parse(name);
  if (!id) return std::nullopt;
  const supervisor::RuntimeStore store(absolute_state_dir(global), std::move(*id));
  auto latest = store.latest();
  if (!latest || !*latest) return std::nullopt;
  nlohmann::json event = protocol::to_json(**latest);
  event["detail"] = event.value("detail", "") + " (recorded; inspect failed: " + live.error().message + ")";
  return event;
}

}  // namespace

void add_ps_logs_commands(CLI::App& app, GlobalOptions& global) {
  auto* ps = app.add_subcommand("ps", "List workspaces");
  ps->callback([&global] {
    nlohmann::json rows = nlohmann::json::array();
    std::error_code ec;
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(absolute_state_dir(global), ec)) {
      const auto name = entry.path().filename().string();
      if (entry.is_directory() && protocol::validate_runtime_id(name) && std::filesystem::exists(entry.path() / "event.json")) {
        names.push_back(name);
      }
    }
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      if (auto event = listed_event(global, name)) rows.push_back(*event);
    }
    if (global.json) {
      std::cout << rows.dump(2) << std::endl;
    } else {
      std::cout << fmt::format("{:<24} {:<12} {:<26} {}\n", "NAME", "STATE", "SINCE", "DETAIL");
      for (const auto& e : rows) {
        std::cout << fmt::format("{:<24} {:<12} {:<26} {}\n", e["identity"].value("runtimeID", ""), e.value("state", ""),
                                 e.value("observedAt", ""), e.value("detail", ""));
      }
    }
    global.exit_code = 0;
  });

  auto name = std::make_shared<std::string>();
  auto follow = std::make_shared<bool>(false);
  auto* logs = app.add_subcommand("logs", "Print the guest's serial console log");
  add_workspace_name(logs, *name);
  logs->add_flag("--follow,-f", *follow, "Keep printing while the workspace runs");
  logs->callback([&global, name, follow] {
    auto id = protocol::RuntimeId::parse(*name);  // the parser's check already held: a second look costs nothing
    if (!id) {
      global.exit_code = report_error(global, "invalid_request", id.error().message);
      return;
    }
    const supervisor::RuntimeStore store(absolute_state_dir(global), std::move(*id));
    if (auto ok = store.check_workspace(); !ok) {
      global.exit_code = report_error(global, std::string(to_string(ok.error().code)), ok.error().message);
      return;
    }
    std::ifstream log;
    // Prints what the log holds beyond what was printed; at EOF it keeps the
    // position for the next round of a follow. The log may not exist yet.
    auto drain = [&] {
      if (!log.is_open()) log.open(store.serial_log_path(), std::ios::binary);
      if (!log.is_open()) return;
      char buf[65536];
      while (log.read(buf, sizeof buf) || log.gcount() > 0) std::cout.write(buf, log.gcount());
      log.clear();
      std::cout.flush();
    };
    drain();
    while (*follow) {
      auto event = workspace_request(global, protocol::Command::inspect, *name);
      const std::string state = event ? event->value("state", std::string()) : std::string();
      if (state != "running" && state != "starting" && state != "stopping") {
        drain();  // one more read after the end, then stop
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      drain();
    }
    global.exit_code = 0;
  });
}

}  // namespace microagent::cli
