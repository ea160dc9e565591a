// QmpClient against a real QEMU (TCG, microvm) booting the cached kernel with a
// tiny busybox initramfs whose /init only reports the power button and sleeps.
// Covers: query-status, the quarantine evidence capture with and without
// microagent's vhost-user-vsock device (memfd guest RAM), system_powerdown
// reaching the guest's ACPI button driver, and quit.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "backends/linux_kvm/host_tsc.hpp"
#include "backends/linux_kvm/qemu_command.hpp"
#include "backends/linux_kvm/qmp_client.hpp"
#include "backends/linux_kvm/vsock/vhost_user_vsock_device.hpp"
#include "common/paths.hpp"
#include "common/process.hpp"
#include "e2e_support.hpp"
#include "image/kernel_artifact.hpp"
#include "image/newc_archive.hpp"

namespace microagent::linux_kvm {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Loads the ACPI button and evdev modules, then prints a line for each input event
// (struct input_event is 24 bytes on x86_64) so the host can see a power button press.
constexpr const char* kInit = R"(#!/bin/busybox sh
B=/bin/busybox
$B mkdir -p /proc /sys /dev
$B mount -t proc proc /proc
$B mount -t devtmpfs dev /dev
$B insmod /lib/evdev.ko
$B insmod /lib/button.ko
$B sleep 0.2
$B grep -h -E '^(N: Name|P: Phys)' /proc/bus/input/devices
for e in /dev/input/event*; do
  ( $B dd if=$e bs=24 count=1 2>/dev/null | $B wc -c | $B grep -q 24 && echo "POWER-BUTTON-PRESSED $e" ) &
done
# Give the readers time to open their devices (fork + exec are slow under TCG).
$B sleep 1
echo QMP-GUEST-UP
while true; do $B sleep 1; done
)";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool wait_for_marker(const fs::path& log, const std::string& marker, std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (slurp(log).find(marker) != std::string::npos) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

std::string read_binary(const fs::path& p) { return slurp(p); }

Result<void> write_test_initramfs(const image::KernelArtifact& kernel, const fs::path& out) {
  image::NewcTree tree;
  using Node = image::NewcNode;
  for (const char* dir : {"bin", "dev", "lib", "proc", "sys"}) {
    if (auto ok = tree.add(dir, Node{Node::Kind::directory, 0755, {}}); !ok) return ok;
  }
  if (auto ok = tree.add("dev/console", Node{Node::Kind::char_device, 0600, {}, 5, 1}); !ok) return ok;
  if (auto ok = tree.add("bin/busybox", Node{Node::Kind::file, 0755, read_binary("/bin/busybox")}); !ok) return ok;
  if (auto ok = tree.add("init", Node{Node::Kind::file, 0755, kInit}); !ok) return ok;
  for (const char* module : {"drivers/input/evdev.ko", "drivers/acpi/button.ko"}) {
    const fs::path src = kernel.modules_dir / "kernel" / module;
    if (!fs::exists(src)) return fail(ErrorCode::not_found, src.string() + " missing from the kernel artifact");
    if (auto ok = tree.add("lib/" + src.filename().string(), Node{Node::Kind::file, 0644, read_binary(src)}); !ok) return ok;
  }
  UniqueFd fd(::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return fail_errno("open initramfs", errno);
  return tree.write(fd.get(), /*gzip=*/false);
}

// One QEMU with QMP; killed on destruction if it is still running.
struct TestVm {
  e2e::TempDir dir;
  std::unique_ptr<VhostUserVsockDevice> device;
  ChildProcess qemu;
  fs::path serial_log, qmp_socket;

  ~TestVm() {
    if (qemu.pid() > 0 && !qemu.exited()) {
      qemu.signal(SIGKILL);
      qemu.wait(5s);
    }
  }

  // Boots and waits for the guest's marker; fails the test on error.
  void boot(bool with_vhost_user_vsock) {
    auto kernel = image::load_kernel_artifact(default_kernel_cache());
    ASSERT_TRUE(kernel) << kernel.error().message;
    const fs::path initrd = dir.path / "initrd.cpio";
    auto written = write_test_initramfs(*kernel, initrd);
    ASSERT_TRUE(written) << written.error().message;
    serial_log = dir.path / "serial.log";
    qmp_socket = dir.path / "qmp.sock";
    QemuMachineSpec spec;
    spec.kernel = kernel->vmlinux;
    spec.initrd = initrd;
    spec.kernel_cmdline = build_kernel_cmdline({host_tsc_khz(), true, {}});
    spec.serial_log = serial_log;
    spec.qmp_socket = qmp_socket;
    if (with_vhost_user_vsock) {
      // QEMU connects to the device at start-up: it must listen first.
      spec.vhost_user_vsock_socket = dir.path / "vu.sock";
      auto started = VhostUserVsockDevice::start({spec.vhost_user_vsock_socket, dir.path / "v.sock", 3});
      ASSERT_TRUE(started) << started.error().message;
      device = std::move(*started);
    }
    const UniqueFd log(::open((dir.path / "qemu.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    SpawnOptions options;
    options.stdout_fd = log.get();
    options.stderr_fd = log.get();
    auto child = spawn_process(build_qemu_argv(spec), options);
    ASSERT_TRUE(child) << child.error().message;
    qemu = std::move(*child);
    ASSERT_TRUE(wait_for_marker(serial_log, "QMP-GUEST-UP", 120s))
        << "serial:\n" << slurp(serial_log) << "\nqemu:\n" << slurp(dir.path / "qemu.log");
  }

  QmpClient connect() {
    auto qmp = QmpClient::connect(qmp_socket, 5s);
    EXPECT_TRUE(qmp) << qmp.error().message;
    if (!qmp) std::abort();
    return std::move(*qmp);
  }

  void quit_and_expect_exit(QmpClient& qmp) {
    auto quit = qmp_quit(qmp);
    EXPECT_TRUE(quit) << quit.error().message;
    auto status = qemu.wait(10s);
    ASSERT_TRUE(status.has_value()) << "QEMU still running after quit";
    EXPECT_TRUE(status->success()) << status->describe();
  }
};

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

TEST(QmpE2E, StatusCaptureAndQuit) {
  if (!e2e::kernel_available()) GTEST_SKIP() << "no cached kernel: run `microagent kernel fetch`";
  TestVm vm;
  ASSERT_NO_FATAL_FAILURE(vm.boot(/*with_vhost_user_vsock=*/false));
  QmpClient qmp = vm.connect();
  auto status = qmp_query_status(qmp);
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(*status, "running");

  const fs::path file = vm.dir.path / "evidence" / "vm-state.bin";
  fs::create_directories(file.parent_path());
  const auto start = Clock::now();
  auto capture = qmp_capture_migration_stream(qmp, file, 60s);
  ASSERT_TRUE(capture) << capture.error().message;
  std::cout << "capture without vsock device: " << to_string(capture->method) << ", " << capture->bytes << " bytes in "
            << seconds_since(start) << " s\n";
  EXPECT_EQ(capture->method, GuestCapture::Method::migration_stream);
  EXPECT_EQ(capture->bytes, fs::file_size(file));
  EXPECT_GT(capture->bytes, 1u << 20);
  // The stream starts with QEMU's migration magic "QEVM".
  EXPECT_EQ(slurp(file).substr(0, 4), "QEVM");
  auto paused = qmp_query_status(qmp);
  ASSERT_TRUE(paused) << paused.error().message;
  EXPECT_TRUE(*paused == "postmigrate" || *paused == "paused") << *paused;

  vm.quit_and_expect_exit(qmp);
}

TEST(QmpE2E, CaptureWithVhostUserVsockDeviceAndMemfdRam) {
  if (!e2e::kernel_available()) GTEST_SKIP() << "no cached kernel: run `microagent kernel fetch`";
  TestVm vm;
  ASSERT_NO_FATAL_FAILURE(vm.boot(/*with_vhost_user_vsock=*/true));
  QmpClient qmp = vm.connect();
  auto status = qmp_query_status(qmp);
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(*status, "running");

  const fs::path file = vm.dir.path / "vm state.bin";  // a space: no shell is involved
  const auto start = Clock::now();
  auto capture = qmp_capture_migration_stream(qmp, file, 60s);
  ASSERT_TRUE(capture) << capture.error().message;
  std::cout << "capture with vhost-user-vsock: " << to_string(capture->method) << ", " << capture->bytes << " bytes in "
            << seconds_since(start) << " s; refusal: " << capture->migration_refusal << "\n";
  EXPECT_EQ(capture->bytes, fs::file_size(file));
  EXPECT_GT(capture->bytes, 1u << 20);
  const std::string head = slurp(file).substr(0, 4);
  if (capture->method == GuestCapture::Method::memory_dump) {
    EXPECT_EQ(head, "\x7f" "ELF");
    EXPECT_FALSE(capture->migration_refusal.empty());
  } else {
    EXPECT_EQ(head, "QEVM");
  }
  auto paused = qmp_query_status(qmp);
  ASSERT_TRUE(paused) << paused.error().message;
  EXPECT_NE(*paused, "running");

  vm.quit_and_expect_exit(qmp);
}

TEST(QmpE2E, SystemPowerdownReachesTheGuestButtonDriver) {
  if (!e2e::kernel_available()) GTEST_SKIP() << "no cached kernel: run `microagent kernel fetch`";
  TestVm vm;
  ASSERT_NO_FATAL_FAILURE(vm.boot(/*with_vhost_user_vsock=*/false));
  QmpClient qmp = vm.connect();
  const auto start = Clock::now();
  auto pressed = qmp_system_powerdown(qmp);
  ASSERT_TRUE(pressed) << pressed.error().message;
  auto event = qmp.wait_event("POWERDOWN", 5s);
  EXPECT_TRUE(event) << event.error().message;
  const bool seen = wait_for_marker(vm.serial_log, "POWER-BUTTON-PRESSED", 15s);
  std::cout << "power button " << (seen ? "seen" : "NOT seen") << " by the guest after " << seconds_since(start)
            << " s; guest input devices:\n" << slurp(vm.serial_log) << "\n";
  EXPECT_TRUE(seen);
  // This init does not act on the button (no acpid): QEMU keeps running until quit.
  auto status = qmp_query_status(qmp);
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(*status, "running");
  vm.quit_and_expect_exit(qmp);
}

}  // namespace
}  // namespace microagent::linux_kvm
