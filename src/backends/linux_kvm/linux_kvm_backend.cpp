#include "backends/linux_kvm/linux_kvm_backend.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <fmt/core.h>

#include "backends/linux_kvm/doctor_checks.hpp"
#include "backends/linux_kvm/foreground_run.hpp"
#include "backends/linux_kvm/guest_launch.hpp"
#include "backends/linux_kvm/host_profile.hpp"
#include "backends/linux_kvm/kvm_probe.hpp"
#include "backends/linux_kvm/lifecycle_driver.hpp"
#include "backends/linux_kvm/vm_network.hpp"
#include "common/paths.hpp"
#include "common/process.hpp"
#include "protocol/doctor.hpp"
#include "protocol/json_codec.hpp"
#include "supervisor/event_factory.hpp"
#include "supervisor/lifecycle.hpp"

namespace microagent::linux_kvm {
namespace {

using nlohmann::json;
using protocol::Event;
using protocol::State;

}  // namespace

Event make_event(const protocol::Request& request, State state, std::string detail) {
  return supervisor::event_for(request, kBackendName, state, std::move(detail));
}

Result<json> LinuxKvmBackend::host_facts() { return host_facts(protocol::Request{}); }

// The facts plus the doctor report: the probe VM runs once, and the accel
// reported is the one `run` will choose (both go through decide_accel).
Result<json> LinuxKvmBackend::host_facts(const protocol::Request& request) {
  // The state dir the user will run with (the host request's "stateDir").
  const auto& state_dir = request.options.host_state_dir;
  const LinuxDoctor doctor = run_linux_doctor(host_doctor_context(state_dir.value_or(default_state_dir().string())),
                                              kBackendName);
  const AccelChoice& accel = doctor.accel;
  utsname uts{};
  ::uname(&uts);
  json facts{{"os", "linux"},
             {"arch", uts.machine},
             {"kernel", uts.release},
             {"accel", accel.accel},
             {"accelReason", accel.reason},
             {"kvm", {{"present", accel.probe.device_present}, {"canRunKernel", accel.probe.ring0_ok},
                      {"detail", accel.probe.detail}}},
             {"qemu", find_program("qemu-system-x86_64").value_or("")},
             {"vsock", std::filesystem::exists("/dev/vhost-vsock") ? "vhost-vsock" : "vhost-user (microagent)"},
             {"doctor", protocol::to_json(doctor.report)}};
  return facts;
}

Result<Event> LinuxKvmBackend::handle(const protocol::Request& request) {
  switch (request.command) {
    case protocol::Command::check: return check(request);
    case protocol::Command::run: return foreground_run(request);
    case protocol::Command::inspect:
    case protocol::Command::prepare:
    case protocol::Command::start:
    case protocol::Command::halt:
    case protocol::Command::stop:
    case protocol::Command::kill:
    case protocol::Command::quarantine:
    case protocol::Command::remove:
    case protocol::Command::console: {
      LinuxLifecycleDriver driver;
      return supervisor::serve_lifecycle(driver, request);
    }
    default:
      return fail(ErrorCode::unsupported, fmt::format("command '{}' is not supported by the {} supervisor in this version",
                                                      protocol::to_string(request.command), kBackendName));
  }
}

Result<Event> LinuxKvmBackend::check(const protocol::Request& request) {
  auto plan = plan_guest_launch(*request.config);
  if (!plan) return std::unexpected(plan.error());
  if (auto ok = preflight_network(*request.config); !ok) return std::unexpected(ok.error());
  if (!find_program("qemu-system-x86_64")) {
    return fail(ErrorCode::host_unavailable, "qemu-system-x86_64 is not installed: apt-get install qemu-system-x86");
  }
  const AccelChoice accel = host_profile().accel;
  return make_event(request, State::unknown, "host can run this workspace: " + accel.reason);
}

}  // namespace microagent::linux_kvm
