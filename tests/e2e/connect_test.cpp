// A kept-alive guest (keep_alive, as `start` boots one), driven by hand: the
// guest init reports readiness on the control port, serves connect sessions on
// port 1025, and powers off when the host sends halt on port 1026.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fcntl.h>

#include <gtest/gtest.h>

#include "backends/linux_kvm/guest_launch.hpp"
#include "backends/linux_kvm/kvm_probe.hpp"
#include "backends/linux_kvm/vm_session.hpp"
#include "cli/posix/guest_assets.hpp"
#include "common/connect_wire.hpp"
#include "common/guest_wire.hpp"
#include "e2e_support.hpp"
#include "shim/connect_client.hpp"
#include "shim/hybrid_vsock.hpp"

namespace microagent {
namespace {

using namespace std::chrono_literals;
namespace wire = connect_wire;

struct Captured {
  Result<int> code = 0;
  std::string out, err;
};

std::string slurp(int fd) {
  std::string out;
  char buffer[4096];
  ::lseek(fd, 0, SEEK_SET);
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0) out.append(buffer, static_cast<std::size_t>(n));
  return out;
}

Captured run_session(const std::filesystem::path& vsock, const wire::ConnectRequest& request, std::string input = {}) {
  Captured c;
  auto stream = shim::connect_to_guest(vsock, kConnectPort, 10s);
  if (!stream) {
    c.code = std::unexpected(stream.error());
    return c;
  }
  UniqueFd out(::open("/tmp", O_TMPFILE | O_RDWR, 0600)), err(::open("/tmp", O_TMPFILE | O_RDWR, 0600));
  UniqueFd in(::open("/tmp", O_TMPFILE | O_RDWR, 0600));
  EXPECT_EQ(::write(in.get(), input.data(), input.size()), static_cast<ssize_t>(input.size()));
  ::lseek(in.get(), 0, SEEK_SET);
  shim::ConnectIo io;
  io.stdin_fd = input.empty() ? -1 : in.get();
  io.stdout_fd = out.get();
  io.stderr_fd = err.get();
  c.code = shim::run_connect_session(stream->get(), request, io);
  c.out = slurp(out.get());
  c.err = slurp(err.get());
  return c;
}

TEST(ConnectE2E, KeptAliveGuestServesSessionsAndHaltsOnRequest) {
  ASSERT_TRUE(e2e::kernel_available()) << "no cached kernel: run build/bin/microagent kernel fetch";
  auto assets = cli::default_image_assets();
  ASSERT_TRUE(assets) << assets.error().message;
  e2e::TempDir dir;

  protocol::WorkspaceConfig config;
  config.state_dir = dir.path.string();
  config.kernel_path = assets->kernel.string();
  config.initrd_path = assets->initrd.string();
  GuestConfig guest = linux_kvm::guest_config_for(config);
  guest.argv.clear();  // no workload: just serve
  guest.keep_alive = true;
  auto plan = linux_kvm::plan_guest_launch(config, guest);
  ASSERT_TRUE(plan) << plan.error().message;

  const auto accel = linux_kvm::choose_accel();
  auto sockets = linux_kvm::plan_sockets(dir.path);
  ASSERT_TRUE(sockets) << sockets.error().message;
  linux_kvm::VmLaunchSpec launch;
  launch.machine = plan->machine;
  launch.machine.accel = accel.accel;
  launch.machine.cpu = accel.cpu;
  launch.machine.serial_log = dir.path / "serial.log";
  launch.sockets = *sockets;
  launch.qemu_log = dir.path / "qemu.log";
  launch.listen_control = true;
  const auto booted = std::chrono::steady_clock::now();
  auto session = linux_kvm::VmSession::launch(launch);
  ASSERT_TRUE(session) << session.error().message;
  ASSERT_TRUE((*session)->wait_until_running(10s));

  // Readiness: both events on the control port.
  const std::string readiness = e2e::read_readiness((*session)->control_listener(), 30s);
  EXPECT_NE(readiness.find("\"event\":\"guestReady\""), std::string::npos) << readiness;
  EXPECT_NE(readiness.find("\"event\":\"shellReady\""), std::string::npos) << readiness;
  std::printf("readiness after %lld ms:\n%s", static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - booted).count()), readiness.c_str());

  // --send style: output and exit code.
  wire::ConnectRequest send;
  send.command = {"/bin/sh", "-c", "echo hi; echo err >&2; uname -s; exit 7"};
  auto first = run_session(sockets->vsock, send);
  ASSERT_TRUE(first.code) << first.code.error().message << "\n" << e2e::read_text(dir.path / "serial.log");
  EXPECT_EQ(*first.code, 7);
  EXPECT_EQ(first.out, "hi\nLinux\n");
  EXPECT_EQ(first.err, "err\n");

  // stdin through to the command.
  wire::ConnectRequest cat;
  cat.command = {"cat"};
  auto piped = run_session(sockets->vsock, cat, "through the guest\n");
  ASSERT_TRUE(piped.code);
  EXPECT_EQ(piped.out, "through the guest\n");

  // A tty session: a shell with a PTY, commands typed on its stdin.
  wire::ConnectRequest tty;
  tty.tty = true;
  tty.size = {30, 100};
  auto shell = run_session(sockets->vsock, tty, "stty size; echo $((6*7)); tty\nexit 3\n");
  ASSERT_TRUE(shell.code) << shell.code.error().message;
  EXPECT_EQ(*shell.code, 3);
  EXPECT_NE(shell.out.find("30 100"), std::string::npos) << shell.out;
  EXPECT_NE(shell.out.find("42"), std::string::npos) << shell.out;
  EXPECT_NE(shell.out.find("/dev/pts/"), std::string::npos) << shell.out;

  // Halt: the guest answers, then powers off and QEMU exits.
  auto control = shim::connect_to_guest(sockets->vsock, kControlPort, 10s);
  ASSERT_TRUE(control) << control.error().message;
  const std::string unknown = "{\"command\":\"dance\"}\n";
  ASSERT_EQ(::send(control->get(), unknown.data(), unknown.size(), MSG_NOSIGNAL), static_cast<ssize_t>(unknown.size()));
  auto refused = shim::read_stream_to_end(control->get(), 4096, 10s);
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->find("\"ok\":false"), std::string::npos) << *refused;

  control = shim::connect_to_guest(sockets->vsock, kControlPort, 10s);
  ASSERT_TRUE(control) << control.error().message;
  const std::string halt = "{\"command\":\"halt\"}\n";
  ASSERT_EQ(::send(control->get(), halt.data(), halt.size(), MSG_NOSIGNAL), static_cast<ssize_t>(halt.size()));
  char reply[64] = {};
  pollfd p{control->get(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 10000), 1);
  ASSERT_GT(::read(control->get(), reply, sizeof reply - 1), 0);
  EXPECT_EQ(std::string(reply), "{\"ok\":true}\n");
  const auto halted = std::chrono::steady_clock::now();
  auto exit = (*session)->qemu().wait(20s);
  ASSERT_TRUE(exit.has_value()) << "QEMU still running 20 s after halt";
  std::printf("QEMU exited %lld ms after halt\n", static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - halted).count()));
}

}  // namespace
}  // namespace microagent
