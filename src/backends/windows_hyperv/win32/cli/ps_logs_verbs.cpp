// microagent.exe ps / logs NAME [-f]: the state dir read like the Linux CLI
// (src/cli/ps_logs_commands.cpp): one row per <state-dir>/<name>/event.json,
// the live state from the supervisor's inspect (which settles a VM that is
// gone), the recorded event when the supervisor cannot answer.
#include "backends/windows_hyperv/win32/windows_headers.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <thread>

#include <fmt/core.h>

#include "backends/windows_hyperv/win32/cli/supervisor_process.hpp"
#include "backends/windows_hyperv/win32/cli/workspace_verbs.hpp"
#include "protocol/json_codec.hpp"
#include "supervisor/runtime_store.hpp"

namespace microagent::windows_cli {

using nlohmann::json;

namespace {

json inspect_request(const CliContext& context, const std::string& name) {
  return {{"command", "inspect"},
          {"identity", {{"requestID", fmt::format("cli-{}", GetCurrentProcessId())}, {"runtimeID", name},
                        {"role", "workload"}, {"backend", "windows-hyperv"}}},
          {"config", {{"stateDir", context.state_dir.string()}}}};
}

// The supervisor's inspect event, else the recorded event.json (with why).
std::optional<json> workspace_event(const CliContext& context, const std::string& name) {
  auto response = call_supervisor(find_supervisor(context.supervisor), inspect_request(context, name));
  if (response && response->value("ok", false) && response->contains("event")) return (*response)["event"];
  auto id = protocol::RuntimeId::parse(name);
  if (!id) return std::nullopt;
  supervisor::RuntimeStore store(context.state_dir, std::move(*id));
  auto latest = store.latest();
  if (!latest || !*latest) return std::nullopt;
  json event = protocol::to_json(**latest);
  std::string why = response ? std::string("no answer") : response.error().message;
  if (response && response->contains("error") && (*response)["error"].is_object()) {
    why = (*response)["error"].value("message", why);
  }
  event["detail"] = event.value("detail", "") + " (recorded; inspect failed: " + why + ")";
  return event;
}

std::string live_state(const CliContext& context, const std::string& name) {
  auto event = workspace_event(context, name);
  return event ? event->value("state", std::string()) : std::string();
}

}  // namespace

int run_ps_verb(const CliContext& context) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(context.state_dir, ec)) {
    const auto name = entry.path().filename().string();
    if (entry.is_directory() && protocol::validate_runtime_id(name) && std::filesystem::exists(entry.path() / "event.json")) {
      names.push_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  json rows = json::array();
  for (const auto& name : names) {
    if (auto event = workspace_event(context, name)) rows.push_back(*event);
  }
  if (context.json_output) {
    std::cout << rows.dump(2) << std::endl;
    return 0;
  }
  std::cout << fmt::format("{:<24} {:<12} {:<26} {}\n", "NAME", "STATE", "SINCE", "DETAIL");
  for (const auto& e : rows) {
    const std::string id = e.contains("identity") ? e["identity"].value("runtimeID", "") : "";
    std::cout << fmt::format("{:<24} {:<12} {:<26} {}\n", id, e.value("state", ""), e.value("observedAt", ""),
                             e.value("detail", ""));
  }
  std::cout.flush();
  return 0;
}

int run_logs_verb(const CliContext& context, const std::string& name, bool follow) {
  auto id = protocol::RuntimeId::parse(name);
  if (!id) return report_error(context, id.error());
  const supervisor::RuntimeStore store(context.state_dir, std::move(*id));
  if (auto ok = store.check_workspace(); !ok) return report_error(context, ok.error());
  std::ifstream log;
  auto drain = [&] {
    if (!log.is_open()) log.open(store.serial_log_path(), std::ios::binary);
    if (!log.is_open()) return;
    char buffer[65536];
    while (log.read(buffer, sizeof buffer) || log.gcount() > 0) std::cout.write(buffer, log.gcount());
    log.clear();  // at EOF: keep the position for the next round of a follow
    std::cout.flush();
  };
  drain();
  while (follow) {
    const std::string state = live_state(context, name);
    if (state != "running" && state != "starting" && state != "stopping") {
      drain();  // one more read after the end
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    drain();
  }
  return 0;
}

}  // namespace microagent::windows_cli
