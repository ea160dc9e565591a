// bench/cold_run: median wall time of `microagent run -- true` against a bare
// `qemu-system-x86_64` boot of the same kernel, initramfs and guest config to
// power-off (no vsock device: the guest's result has nowhere to go), 5
// interleaved runs each, and their ratio. Goal: ratio <= 1.10.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <fmt/format.h>

#include "backends/linux_kvm/guest_launch.hpp"
#include "backends/linux_kvm/kvm_probe.hpp"
#include "cli/posix/guest_assets.hpp"
#include "common/process.hpp"
#include "protocol/types.hpp"

using namespace microagent;

namespace {

double seconds_of(const std::vector<std::string>& argv) {
  const auto start = std::chrono::steady_clock::now();
  auto out = run_command(argv);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!out || !out->status.success()) {
    fmt::print(stderr, "cold_run: `{}` failed: {}\n", argv[0], out ? out->err : out.error().message);
    std::exit(1);
  }
  return s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 5;
  const std::filesystem::path bin = MICROAGENT_BIN_DIR;
  auto assets = cli::default_image_assets();
  if (!assets) {
    fmt::print(stderr, "cold_run: {}\n", assets.error().message);
    return 1;
  }
  char state_template[] = "/tmp/ma-bench-XXXXXX";
  const std::filesystem::path state = ::mkdtemp(state_template);

  // The bare boot gets exactly what microagent gives the guest, minus the vsock device.
  protocol::WorkspaceConfig config;
  config.state_dir = state;
  config.kernel_path = assets->kernel;
  config.initrd_path = assets->initrd;
  config.command = {"true"};
  auto plan = linux_kvm::plan_guest_launch(config);
  if (!plan) {
    fmt::print(stderr, "cold_run: {}\n", plan.error().message);
    return 1;
  }
  const auto accel = linux_kvm::choose_accel();
  plan->machine.accel = accel.accel;
  plan->machine.cpu = accel.cpu;
  plan->machine.serial_log = state / "bare-serial.log";
  auto bare_argv = linux_kvm::build_qemu_argv(plan->machine);

  std::vector<double> ours, bare;
  for (int i = 0; i < runs; ++i) {
    ours.push_back(seconds_of({(bin / "microagent").string(), "--state-dir", state.string(), "run", "--name",
                               fmt::format("bench-{}", i), "--", "true"}));
    bare.push_back(seconds_of(bare_argv));
  }
  const double m_ours = median(ours), m_bare = median(bare);
  fmt::print("accel: {}\n", accel.accel);
  fmt::print("microagent run -- true: median {:.3f} s over {} runs ({})\n", m_ours, runs, fmt::join(ours, ", "));
  fmt::print("bare qemu boot to power-off: median {:.3f} s over {} runs ({})\n", m_bare, runs, fmt::join(bare, ", "));
  fmt::print("ratio: {:.3f} (goal <= 1.10)\n", m_ours / m_bare);
  std::filesystem::remove_all(state);
  return 0;
}
