// `microagent doctor [--backend B] [--json]`: asks the backend's supervisor
// for `host` and prints its doctor report, one line per check and a verdict
// naming the backend and the acceleration `run` will use. Exit 0 only when
// that backend can run here (docs/doctor.md).
#include <algorithm>
#include <filesystem>
#include <iostream>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/platform_routing.hpp"
#include "cli/supervisor_client.hpp"
#include "protocol/doctor.hpp"
#include "protocol/json_codec.hpp"

namespace microagent::cli {
namespace {

using nlohmann::json;
using protocol::CheckStatus;
using protocol::DoctorReport;

// Exit code when doctor ran and the backend cannot run here.
constexpr int kExitCannotRun = 1;

// The `host` answer of `backend`'s supervisor, as a doctor report.
Result<DoctorReport> ask_supervisor(const GlobalOptions& global, const std::string& backend) {
  if (auto ok = check_backend_for_host(backend); !ok) return std::unexpected(ok.error());
  auto supervisor = find_supervisor(backend, global.supervisor);
  if (!supervisor) return std::unexpected(supervisor.error());
  protocol::Request request;  // command: host
  request.options.host_state_dir = std::filesystem::absolute(global.state_dir).string();
  auto response = call_supervisor(*supervisor, protocol::to_json(request));
  if (!response) return std::unexpected(response.error());
  if (!response->value("ok", false)) return std::unexpected(response_error(*response));
  const json& host = (*response)["host"];
  if (!host.is_object() || !host.contains("doctor")) {
    return fail(ErrorCode::unsupported, supervisor->string() + " answers `host` without a doctor report");
  }
  return protocol::doctor_report_from_json(host["doctor"]);
}

// Without --backend: wsl2 inside WSL2, linux-kvm on other Linux. WSL
// detection belongs to the wsl2 supervisor, so it is asked first; it
// answers host_unavailable at once outside WSL2.
Result<DoctorReport> ask_default_backend(const GlobalOptions& global, std::string& backend) {
  if (this_platform() == HostPlatform::windows) {
    backend = "windows-hyperv";
    return ask_supervisor(global, backend);
  }
  backend = "wsl2";
  auto wsl = ask_supervisor(global, backend);
  if (wsl || (wsl.error().code != ErrorCode::host_unavailable && wsl.error().code != ErrorCode::not_found)) return wsl;
  backend = "linux-kvm";
  return ask_supervisor(global, backend);
}

// A report for a backend whose supervisor could not answer: one failing check.
DoctorReport failed_report(const std::string& backend, const Error& error) {
  DoctorReport report;
  report.backend = backend;
  report.can_run = false;
  report.summary = fmt::format("cannot run guests with {}: {}", backend, error.message);
  report.checks.push_back({"backend", CheckStatus::fail, error.message, ""});
  return report;
}

void print_human(const DoctorReport& report) {
  std::size_t width = 0;
  for (const auto& check : report.checks) width = std::max(width, check.name.size());
  for (const auto& check : report.checks) {
    std::string line = fmt::format("{:<{}}  {:<4}  {}", check.name, width, protocol::to_string(check.status), check.detail);
    if (!check.fix.empty()) line += "  [fix: " + check.fix + "]";
    std::cout << line << "\n";
  }
  std::cout << (report.can_run ? "ok: " : "FAIL: ") << report.summary << std::endl;
}

int doctor(GlobalOptions& global, bool backend_given) {
  std::string backend = global.backend;
  auto report = backend_given ? ask_supervisor(global, backend) : ask_default_backend(global, backend);
  if (!report) {
    // Still a report, so programs read one shape; the error says why it is short.
    const DoctorReport failed = failed_report(backend, report.error());
    if (global.json) {
      json out = protocol::to_json(failed);
      out["error"] = {{"code", to_string(report.error().code)}, {"message", report.error().message}};
      std::cout << out.dump(2) << std::endl;
    } else {
      print_human(failed);
      std::cerr << "microagent: " << report.error().message << " [" << to_string(report.error().code) << "]"
                << std::endl;
    }
    return kExitMicroagentError;
  }
  if (global.json) {
    std::cout << protocol::to_json(*report).dump(2) << std::endl;
  } else {
    print_human(*report);
  }
  return report->can_run ? 0 : kExitCannotRun;
}

}  // namespace

void add_doctor_command(CLI::App& app, GlobalOptions& global) {
  auto* cmd = app.add_subcommand("doctor", "Check whether a backend can run guests here, and what to fix");
  const CLI::Option* backend_option = app.get_option("--backend");
  cmd->callback([&global, backend_option] { global.exit_code = doctor(global, backend_option->count() > 0); });
}

}  // namespace microagent::cli
