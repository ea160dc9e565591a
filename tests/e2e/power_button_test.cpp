// The two ways into a kept-alive guest that do not need vsock: the ACPI power
// button (QMP system_powerdown, what `microagent halt` falls back to) halts it
// cleanly, and a line written into the serial console (`microagent console`)
// reaches a root shell whose output lands in serial.log.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include <gtest/gtest.h>

#include "backends/linux_kvm/guest_launch.hpp"
#include "backends/linux_kvm/kvm_probe.hpp"
#include "backends/linux_kvm/qmp_client.hpp"
#include "backends/linux_kvm/vm_session.hpp"
#include "cli/posix/guest_assets.hpp"
#include "common/guest_wire.hpp"
#include "e2e_support.hpp"
#include "shim/hybrid_vsock.hpp"

namespace microagent {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

long long ms_since(Clock::time_point start) {
  return static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
}

// Polls serial.log until it holds `needle`.
bool serial_log_shows(const std::filesystem::path& log, const std::string& needle, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (e2e::read_text(log).find(needle) != std::string::npos) return true;
    std::this_thread::sleep_for(50ms);
  }
  return e2e::read_text(log).find(needle) != std::string::npos;
}

// A kept-alive guest with no workload, booted as `start` boots one, up to shellReady.
struct KeptAliveGuest {
  e2e::TempDir dir;
  linux_kvm::VmSockets sockets;
  std::unique_ptr<linux_kvm::VmSession> session;
  Clock::time_point booted;

  std::filesystem::path serial_log() const { return dir.path / "serial.log"; }

  void boot(bool console_input) {
    ASSERT_TRUE(e2e::kernel_available()) << "no cached kernel: run build/bin/microagent kernel fetch";
    auto assets = cli::default_image_assets();
    ASSERT_TRUE(assets) << assets.error().message;
    protocol::WorkspaceConfig config;
    config.state_dir = dir.path.string();
    config.kernel_path = assets->kernel.string();
    config.initrd_path = assets->initrd.string();
    GuestConfig guest = linux_kvm::guest_config_for(config);
    guest.argv.clear();
    guest.keep_alive = true;
    auto plan = linux_kvm::plan_guest_launch(config, guest);
    ASSERT_TRUE(plan) << plan.error().message;

    const auto accel = linux_kvm::choose_accel();
    auto planned = linux_kvm::plan_sockets(dir.path);
    ASSERT_TRUE(planned) << planned.error().message;
    sockets = *planned;
    linux_kvm::VmLaunchSpec launch;
    launch.machine = plan->machine;
    launch.machine.accel = accel.accel;
    launch.machine.cpu = accel.cpu;
    launch.machine.serial_log = serial_log();
    launch.sockets = sockets;
    launch.qemu_log = dir.path / "qemu.log";
    launch.listen_control = true;
    launch.console_input = console_input;
    booted = Clock::now();
    auto launched = linux_kvm::VmSession::launch(launch);
    ASSERT_TRUE(launched) << launched.error().message;
    session = std::move(*launched);
    ASSERT_TRUE(session->wait_until_running(10s));
    const std::string readiness = e2e::read_readiness(session->control_listener(), 30s);
    ASSERT_NE(readiness.find("\"event\":\"shellReady\""), std::string::npos)
        << readiness << "\n" << e2e::read_text(serial_log());
    std::printf("shellReady after %lld ms\n", ms_since(booted));
  }
};

TEST(PowerButtonE2E, PowerButtonHaltsAKeptAliveGuest) {
  KeptAliveGuest guest;
  ASSERT_NO_FATAL_FAILURE(guest.boot(false));
  // The watcher found the button (no complaint on the console).
  EXPECT_EQ(e2e::read_text(guest.serial_log()).find("no ACPI power button"), std::string::npos)
      << e2e::read_text(guest.serial_log());

  auto qmp = linux_kvm::QmpClient::connect(guest.sockets.qmp, 5s);
  ASSERT_TRUE(qmp) << qmp.error().message;
  const auto pressed = Clock::now();
  ASSERT_TRUE(linux_kvm::qmp_system_powerdown(*qmp));
  auto exit = guest.session->qemu().wait(10s);
  ASSERT_TRUE(exit.has_value()) << "QEMU still running 10 s after the power button\n"
                                << e2e::read_text(guest.serial_log());
  std::printf("QEMU exited %lld ms after the power button (%s)\n", ms_since(pressed), exit->describe().c_str());
  EXPECT_TRUE(exit->success()) << exit->describe();
  const std::string log = e2e::read_text(guest.serial_log());
  EXPECT_NE(log.find("microagent-guestinit: power button pressed: halting"), std::string::npos) << log;
  EXPECT_NE(log.find("microagent-guestinit: halted cleanly: powering off"), std::string::npos) << log;
  EXPECT_EQ(log.find("fatal:"), std::string::npos) << log;
}

// A client of the serial.in socket that stays connected. Measured here: QEMU
// reads console input only as fast as the UART FIFO drains and drops what is
// still queued when the client hangs up (connect, write 22 bytes, close: the
// guest got 8); and it sends the client the guest's output, so a client that
// does not read stalls the guest's serial output once its socket buffer is
// full. So: one connection, drained by a thread, closed at the end.
class SerialClient {
 public:
  explicit SerialClient(const std::filesystem::path& path) {
    fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    if (!fd_ || ::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      fd_.reset();
      return;
    }
    drain_ = std::thread([this] {
      char buffer[4096];
      while (!stop_) {
        pollfd p{fd_.get(), POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        if (::read(fd_.get(), buffer, sizeof buffer) <= 0) break;
      }
    });
  }
  ~SerialClient() {
    stop_ = true;
    if (drain_.joinable()) drain_.join();
  }
  explicit operator bool() const { return fd_.valid(); }
  bool send(const std::string& text) {
    return ::send(fd_.get(), text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size());
  }

 private:
  UniqueFd fd_;
  std::atomic<bool> stop_{false};
  std::thread drain_;
};

bool send_text(int fd, const std::string& text) {
  return ::send(fd, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size());
}

TEST(PowerButtonE2E, ConsoleInputReachesASerialShell) {
  KeptAliveGuest guest;
  ASSERT_NO_FATAL_FAILURE(guest.boot(true));
  SerialClient serial(guest.sockets.serial_in);
  ASSERT_TRUE(serial) << guest.sockets.serial_in << ": " << std::strerror(errno);

  // The echoed input reads "console-$((6*7))": only the shell's output says 42.
  const auto typed = Clock::now();
  ASSERT_TRUE(serial.send("echo console-$((6*7))\n"));
  ASSERT_TRUE(serial_log_shows(guest.serial_log(), "console-42", 5s)) << e2e::read_text(guest.serial_log());
  std::printf("console-42 in serial.log %lld ms after the line was written\n", ms_since(typed));

  // A root shell with the serial line as its controlling terminal.
  ASSERT_TRUE(serial.send("echo \"id-$(id -u) tty-$(tty) term-$TERM\"\n"));
  ASSERT_TRUE(serial_log_shows(guest.serial_log(), "id-0 tty-/dev/ttyS0 term-linux", 5s))
      << e2e::read_text(guest.serial_log());

  // `exit` ends the shell; a new one comes back (retyped until it answers, since a
  // line that arrives between the two shells may be dropped by the new one).
  ASSERT_TRUE(serial.send("exit\n"));
  const auto exited = Clock::now();
  bool respawned = false;
  for (int attempt = 0; attempt < 10 && !respawned; ++attempt) {
    ASSERT_TRUE(serial.send("echo again-$((6*7))\n"));
    respawned = serial_log_shows(guest.serial_log(), "again-42", 1s);
  }
  EXPECT_TRUE(respawned) << e2e::read_text(guest.serial_log());
  std::printf("respawned shell answered %lld ms after exit\n", ms_since(exited));

  // Halt over vsock with the console shell running: the hang-up ends it at
  // once, so the halt does not wait out the SIGTERM grace.
  auto control = shim::connect_to_guest(guest.sockets.vsock, kControlPort, 10s);
  ASSERT_TRUE(control) << control.error().message;
  ASSERT_TRUE(send_text(control->get(), "{\"command\":\"halt\"}\n"));
  const auto halted = Clock::now();
  auto exit = guest.session->qemu().wait(10s);
  ASSERT_TRUE(exit.has_value()) << "QEMU still running 10 s after halt\n" << e2e::read_text(guest.serial_log());
  std::printf("QEMU exited %lld ms after halt\n", ms_since(halted));
  const std::string log = e2e::read_text(guest.serial_log());
  EXPECT_NE(log.find("halt requested by the host: halting"), std::string::npos) << log;
  EXPECT_NE(log.find("halted cleanly: powering off"), std::string::npos) << log;
  std::printf("--- serial.log ---\n%s\n---\n", log.c_str());
}

}  // namespace
}  // namespace microagent
