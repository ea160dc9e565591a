#include "backends/wsl2/wsl2_backend.hpp"

#include <cstdlib>

#include "backends/wsl2/doctor_checks.hpp"
#include "common/paths.hpp"
#include "protocol/doctor.hpp"

namespace microagent::wsl2 {

using nlohmann::json;

Wsl2Backend::Wsl2Backend(linux_kvm::DoctorContext context, std::string distro_env)
    : context_(std::move(context)), distro_env_(std::move(distro_env)) {}

Wsl2Backend Wsl2Backend::for_this_host() {
  const char* distro = std::getenv("WSL_DISTRO_NAME");
  return Wsl2Backend(linux_kvm::host_doctor_context(default_state_dir()), distro ? distro : "");
}

Result<json> Wsl2Backend::host_facts() { return host_facts(protocol::Request{}); }

Result<json> Wsl2Backend::host_facts(const protocol::Request& request) {
  const WslHost host = detect_wsl(context_.root, distro_env_);
  if (auto ok = require_wsl2(host); !ok) return std::unexpected(ok.error());
  linux_kvm::DoctorContext context = context_;
  if (request.options.host_state_dir) context.state_dir = *request.options.host_state_dir;
  auto doctor = run_wsl2_doctor(context, host);
  if (!doctor) return std::unexpected(doctor.error());
  const auto& accel = doctor->accel;
  return json{{"os", "linux"},
              {"wsl", {{"distro", host.distro}, {"kernel", host.kernel_release}, {"interop", host.interop}}},
              {"accel", doctor->report.can_run ? accel.accel : ""},
              {"accelReason", accel.reason},
              {"kvm", {{"present", accel.probe.device_present}, {"canRunKernel", accel.probe.ring0_ok},
                       {"detail", accel.probe.detail}}},
              {"doctor", protocol::to_json(doctor->report)}};
}

Result<protocol::Event> Wsl2Backend::handle(const protocol::Request& request) {
  const WslHost host = detect_wsl(context_.root, distro_env_);
  if (auto ok = require_wsl2(host); !ok) return std::unexpected(ok.error());
  const auto probe = linux_kvm::probe_kvm(context_.root.path("/dev/kvm"));
  if (auto ok = require_nested_kvm(probe); !ok) return std::unexpected(ok.error());
  auto event = linux_.handle(request);
  if (!event) return event;
  event->identity.backend = std::string(kBackendName);
  return event;
}

}  // namespace microagent::wsl2
