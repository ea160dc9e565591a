#include "backends/windows_hyperv/windows_hyperv_backend.hpp"

#include <fmt/core.h>

#include "backends/windows_hyperv/foreground_run.hpp"
#include "backends/windows_hyperv/lifecycle_driver.hpp"
#include "backends/windows_hyperv/network_attachment.hpp"
#include "backends/windows_hyperv/workspace_disks.hpp"
#include "protocol/json_codec.hpp"
#include "supervisor/event_factory.hpp"

namespace microagent::windows_hyperv {

using nlohmann::json;

namespace {

json fact_json(const HostFact& fact) { return {{"ok", fact.ok}, {"detail", fact.detail}}; }

}  // namespace

// Without HCS nothing can run: `host` fails closed (host_unavailable) and
// names every failing check with its fix, as wsl2 does outside WSL2.
Result<json> WindowsHypervBackend::host_facts() {
  const HostCapabilities caps = host_.probe();
  const protocol::DoctorReport report = run_hyperv_doctor({caps, paths_.kernel_dir, paths_.guestinit_path});
  if (!caps.hcs.ok) {
    std::string message = "the Host Compute Service is not available: " + caps.hcs.detail;
    for (const auto& check : report.checks) {
      // hcs.access cannot be checked without HCS: it would only repeat the reason.
      if (check.status == protocol::CheckStatus::fail && check.name != "hcs.available" && check.name != "hcs.access") {
        message += fmt::format("; {}: {}", check.name, check.detail);
      }
    }
    return fail(ErrorCode::host_unavailable, message + ". Fix: " + check_hcs(caps.hcs).fix);
  }
  return json{{"os", "windows"},
              {"accel", report.accel},
              {"hcs", fact_json(caps.hcs)},
              {"virtualization", fact_json(caps.virtualization)},
              {"hcsAccess", fact_json(caps.hcs_access)},
              {"hcn", fact_json(caps.hcn)},
              {"hvsocket", fact_json(caps.hvsocket)},
              {"doctor", protocol::to_json(report)}};
}

Result<protocol::Event> WindowsHypervBackend::handle(const protocol::Request& request) {
  using protocol::Command;
  switch (request.command) {
    case Command::check: return check(request);
    case Command::run: return run_foreground(host_, request);
    case Command::prepare:
    case Command::start:
    case Command::inspect:
    case Command::halt:
    case Command::quarantine:
    case Command::stop:
    case Command::kill:
    case Command::remove:
    case Command::console: {
      HypervLifecycleDriver driver(host_);
      return supervisor::serve_lifecycle(driver, request);
    }
    default:
      return fail(ErrorCode::unsupported, fmt::format("command '{}' is not supported by the {} supervisor",
                                                      protocol::to_string(request.command), kBackendName));
  }
}

Result<protocol::Event> WindowsHypervBackend::check(const protocol::Request& request) {
  const auto& config = *request.config;
  if (auto ok = require_host(host_.probe(), config.network.mode != protocol::NetworkMode::isolated); !ok) return std::unexpected(ok.error());
  if (auto ok = validate_network(config.network); !ok) return std::unexpected(ok.error());
  if (auto ok = validate_disk_config(config); !ok) return std::unexpected(ok.error());
  return supervisor::event_for(request, kBackendName, protocol::State::unknown,
                               "host can run this workspace: HCS, Hyper-V sockets and the disks are in place");
}

}  // namespace microagent::windows_hyperv
