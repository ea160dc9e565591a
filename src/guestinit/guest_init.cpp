#include "guestinit/guest_init.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <expected>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/guest_wire.hpp"
#include "common/unique_fd.hpp"
#include "guestinit/config_source.hpp"
#include "guestinit/console_log.hpp"
#include "guestinit/guest_clock.hpp"
#include "guestinit/guest_services.hpp"
#include "guestinit/guest_network.hpp"
#include "guestinit/tcp_memory.hpp"
#include "guestinit/port_forward_service.hpp"
#include "guestinit/modules.hpp"
#include "guestinit/mounts.hpp"
#include "guestinit/power.hpp"
#include "guestinit/result_sender.hpp"
#include "guestinit/switch_root.hpp"
#include "guestinit/workload_runner.hpp"

namespace microagent::guestinit {
namespace {

constexpr const char* kDebugFlag = "microagent.debug=1";

std::string kernel_release() {
  utsname name{};
  ::uname(&name);
  return name.release;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& part : parts) out += (out.empty() ? "" : "; ") + part;
  return out;
}

// A result for a workload that never started.
GuestResult not_run(std::string error) {
  GuestResult result;
  result.error = std::move(error);
  result.started_at = rfc3339_now();
  result.finished_at = result.started_at;
  return result;
}

// Root disk (then switch_root into it) and data disks; the first failure is
// the reason the workload cannot run. Data disks are mounted after the switch
// so their mount points live in the image's filesystem.
Result<void> mount_workload_disks(const GuestConfig& config) {
  if (!config.root_device.empty()) {
    if (auto mounted = mount_ext4(config.root_device, kNewRoot, false); !mounted) return mounted;
    if (auto switched = switch_root(kNewRoot); !switched) return switched;
    debug_line("switched root to " + config.root_device);
  }
  return mount_guest_disks(config.disks);
}

// A loaded config whose disks are mounted, or the result that says why not.
std::expected<GuestConfig, GuestResult> boot(std::uint32_t& result_port) {
  auto config = load_guest_config();
  if (!config) return std::unexpected(not_run(config.error().message));
  result_port = config->result_port;
  if (::sethostname(config->hostname.data(), config->hostname.size()) != 0) {
    log_line("cannot set hostname " + config->hostname);
  }
  if (auto mounted = mount_workload_disks(*config); !mounted) return std::unexpected(not_run(mounted.error().message));
  return std::move(*config);
}

// The workload's result on the channel opened before it ran (or the reason
// that channel could not be opened); `channel` nullopt: open it now, for a
// result with no workload behind it.
void deliver(GuestResult result, std::uint32_t result_port, const std::vector<std::string>& module_failures,
             std::optional<Result<UniqueFd>> channel = std::nullopt) {
  result.kernel_release = kernel_release();
  // A failed module is worth reporting only when something downstream broke.
  if (!result.error.empty() && !module_failures.empty()) {
    result.error += " (module failures: " + join(module_failures) + ")";
  }
  if (!result.error.empty()) log_line("workload failed: " + result.error);
  const std::string payload = guest_result_to_json(result);
  debug_line("result: " + payload);

  const DeliveryOptions options;
  Result<void> sent = !channel                ? send_result(result_port, payload, options)
                      : channel->has_value() ? deliver_over_stream((*channel)->get(), payload, options.io_timeout_ms)
                                             : Result<void>(std::unexpected(channel->error()));
  if (!sent) {
    std::string line = "result delivery failed: " + sent.error().message;
    if (!module_failures.empty()) line += " (module failures: " + join(module_failures) + ")";
    log_line(line);
  } else {
    debug_line("result delivered");
  }
}

// The control channel needs fewer tries than the result: readiness is best effort.
constexpr DeliveryOptions kControlConnect{.connect_attempts = 10, .retry_delay_ms = 100, .connect_timeout_ms = 500};

// A kept-alive guest after its workload: PID 1 only reaps orphans; the service
// process powers the guest off when the host asks it to halt.
[[noreturn]] void reap_until_services_end(pid_t services) {
  if (services <= 0 || ::kill(services, 0) != 0) {
    fatal_power_off("the connect and control services are not running");
  }
  while (true) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid == services) fatal_power_off("the connect and control services ended");
    if (pid < 0 && errno != EINTR) ::usleep(100000);
  }
}

[[noreturn]] void pid1_sequence() {
  const auto mount_failures = mount_early_filesystems();
  attach_console();  // only now is there a console to log the mount failures on
  for (const auto& failure : mount_failures) log_line(failure);
  // Init ignores SIGPIPE: a host that goes away mid-write must not matter (the
  // child resets it before exec).
  ::signal(SIGPIPE, SIG_IGN);
  if (auto cmdline = read_text_file("/proc/cmdline")) set_debug_logging(cmdline_has_flag(*cmdline, kDebugFlag));
  debug_line("started, kernel " + kernel_release());

  const std::uint64_t modules_started = monotonic_ms();
  const auto module_failures =
      load_kernel_modules(std::string("/") + kInitramfsModulesOrderPath, running_kernel_module_dir());
  for (const auto& failure : module_failures) log_line(failure);
  debug_line("modules loaded in " + std::to_string(monotonic_ms() - modules_started) + " ms");

  std::uint32_t result_port = kResultPort;
  auto config = boot(result_port);
  if (!config) {
    deliver(std::move(config.error()), result_port, module_failures);
    power_off();
  }
  // Networking before the workload: lo always, the NIC when there is one, then
  // the --publish / mediation relays (in `run` guests too).
  for (const auto& failure : configure_guest_network(config->network)) log_line(failure);
  if (auto failure = size_tcp_memory_to_guest(); !failure.empty()) log_line(failure);
  start_port_forward_service(config->network);
  // The host accepts ONE connection per channel per boot (docs/vsock.md):
  // both are opened here, before any workload process exists, so a workload
  // that connects to port 1024 or 1026 is refused and cannot forge either.
  // Only started workspaces (keep_alive) talk on the control port, so `run` is unchanged.
  std::optional<Result<UniqueFd>> result_channel;
  if (!config->argv.empty()) result_channel = connect_host_channel(result_port);
  UniqueFd control;
  if (config->keep_alive) {
    auto connected = connect_host_channel(kControlPort, kControlConnect);
    if (connected) control = std::move(*connected);
    else debug_line("control channel: " + connected.error().message);
  }
  const int result_fd = result_channel && *result_channel ? (*result_channel)->get() : -1;
  const pid_t services =
      config->keep_alive ? start_guest_services(*config, rfc3339_now(), std::move(control), result_fd) : -1;
  if (!config->argv.empty()) {
    debug_line("running workload " + config->argv.front());
    deliver(run_workload(*config, RunOptions{.reap_orphans = true}), result_port, module_failures,
            std::move(result_channel));
  }
  if (!config->keep_alive) power_off();
  reap_until_services_end(services);
}

}  // namespace

void run_as_pid1() {
  try {
    pid1_sequence();
  } catch (const std::exception& e) {
    fatal_power_off(e.what());
  } catch (...) {
    fatal_power_off("unknown exception");
  }
}

int run_as_program(int argc, char** argv) {
  const std::string usage =
      "usage: microagent-guestinit-x86_64 --run-config FILE\n"
      "  As PID 1 this program is a microVM's init. Otherwise it runs the workload\n"
      "  described by FILE (guest config JSON) and prints the result JSON.\n";
  if (argc != 3 || std::string(argv[1]) != "--run-config") {
    std::fputs(usage.c_str(), stderr);
    return 2;
  }
  auto text = read_text_file(argv[2]);
  if (!text) {
    std::fprintf(stderr, "microagent-guestinit: %s\n", text.error().message.c_str());
    return 2;
  }
  auto config = guest_config_from_json(*text);
  if (!config) {
    std::fprintf(stderr, "microagent-guestinit: %s\n", config.error().message.c_str());
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  GuestResult result = run_workload(*config);
  result.kernel_release = kernel_release();
  std::printf("%s\n", guest_result_to_json(result).c_str());
  return 0;
}

}  // namespace microagent::guestinit
