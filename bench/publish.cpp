// bench/publish: --publish (host TCP -> hybrid vsock -> guest init -> guest TCP)
// against QEMU's own user-mode `hostfwd` (slirp) on the same guest, in one run:
// throughput of a 16 MiB HTTP download and the round trip of 1 byte through an
// echo server, each through both paths, with their ratio.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include "backends/linux_kvm/guest_launch.hpp"
#include "backends/linux_kvm/kvm_probe.hpp"
#include "backends/linux_kvm/vm_session.hpp"
#include "cli/posix/guest_assets.hpp"
#include "common/unique_fd.hpp"
#include "protocol/types.hpp"

using namespace microagent;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kHttpPort = 8080, kEchoPort = 7007;
constexpr std::size_t kDownloadBytes = 16 << 20;
constexpr int kRoundTrips = 500;

UniqueFd connect_loopback(std::uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return {};
  const int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// Bytes of the whole HTTP response for /big, or 0.
std::size_t download(std::uint16_t port) {
  UniqueFd fd = connect_loopback(port);
  if (!fd) return 0;
  const std::string request = "GET /big HTTP/1.0\r\n\r\n";
  if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) < 0) return 0;
  std::vector<char> buf(1 << 16);
  std::size_t total = 0;
  ssize_t n;
  while ((n = ::read(fd.get(), buf.data(), buf.size())) > 0) total += static_cast<std::size_t>(n);
  return total;
}

// Median microseconds of a 1-byte write -> 1-byte echo on one connection.
double round_trip_us(std::uint16_t port) {
  UniqueFd fd = connect_loopback(port);
  if (!fd) return -1;
  std::vector<double> samples;
  for (int i = 0; i < kRoundTrips; ++i) {
    char c = static_cast<char>('a' + i % 26), back = 0;
    const auto start = Clock::now();
    if (::write(fd.get(), &c, 1) != 1 || ::read(fd.get(), &back, 1) != 1 || back != c) return -1;
    samples.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

double throughput_mib_s(std::uint16_t port) {
  download(port);  // warm-up: the page cache and both paths' first connection
  const auto start = Clock::now();
  const std::size_t bytes = download(port) + download(port) + download(port);
  const double s = std::chrono::duration<double>(Clock::now() - start).count();
  return bytes < 3 * kDownloadBytes ? -1 : static_cast<double>(bytes) / (1 << 20) / s;
}

}  // namespace

int main() {
  auto assets = cli::default_image_assets();
  if (!assets) {
    fmt::print(stderr, "publish: {}\n", assets.error().message);
    return 1;
  }
  char state_template[] = "/tmp/ma-bench-publish-XXXXXX";
  const std::filesystem::path state = ::mkdtemp(state_template);
  const std::uint16_t publish_port = static_cast<std::uint16_t>(30000 + ::getpid() % 10000);
  const std::uint16_t publish_echo = publish_port + 1, hostfwd_port = publish_port + 2, hostfwd_echo = publish_port + 3;

  // The guest: busybox httpd and an echo server, both published by microagent.
  protocol::WorkspaceConfig config;
  config.state_dir = state;
  config.kernel_path = assets->kernel;
  config.initrd_path = assets->initrd;
  config.command = {"sh", "-c",
                    fmt::format("mkdir -p /www && head -c {} /dev/zero > /www/big && httpd -p {} -h /www && "
                                "exec nc -ll -p {} -e cat", kDownloadBytes, kHttpPort, kEchoPort)};
  config.network.mode = protocol::NetworkMode::user;  // the slirp addresses (10.0.2.15/24 via 10.0.2.2) suit QEMU's user NIC
  config.network.port_forwards = {{"127.0.0.1", publish_port, kHttpPort, "tcp"}, {"127.0.0.1", publish_echo, kEchoPort, "tcp"}};
  auto plan = linux_kvm::plan_guest_launch(config);
  if (!plan) {
    fmt::print(stderr, "publish: {}\n", plan.error().message);
    return 1;
  }
  if (auto ok = linux_kvm::materialize_guest_config(*plan, state); !ok) return 1;
  const auto accel = linux_kvm::choose_accel();
  linux_kvm::VmLaunchSpec launch;
  launch.machine = plan->machine;
  launch.machine.accel = accel.accel;
  launch.machine.cpu = accel.cpu;
  launch.machine.serial_log = state / "serial.log";
  // The comparison path: QEMU's own user-mode NIC with hostfwd, instead of passt.
  launch.machine.extra_args = {"-netdev", fmt::format("user,id=net0,net=10.0.2.0/24,hostfwd=tcp:127.0.0.1:{}-:{},"
                                                      "hostfwd=tcp:127.0.0.1:{}-:{}",
                                                      hostfwd_port, kHttpPort, hostfwd_echo, kEchoPort),
                               "-device", "virtio-net-device,netdev=net0"};
  auto sockets = linux_kvm::plan_sockets(state);
  if (!sockets) return 1;
  launch.sockets = *sockets;
  launch.qemu_log = state / "qemu.log";
  launch.network.mode = protocol::NetworkMode::isolated;  // no passt: the NIC above is the only one
  launch.network.forwards = config.network.port_forwards;
  launch.runtime_key = state.string();
  auto session = linux_kvm::VmSession::launch(launch);
  if (!session || !(*session)->wait_until_running(10s)) {
    fmt::print(stderr, "publish: VM failed to start; see {}\n", (state / "qemu.log").string());
    return 1;
  }
  // Both paths must answer before measuring (the guest boots under TCG).
  const auto deadline = Clock::now() + 60s;
  while (Clock::now() < deadline && (download(publish_port) < kDownloadBytes || download(hostfwd_port) < kDownloadBytes)) {
    std::this_thread::sleep_for(500ms);
  }
  const double pub_tp = throughput_mib_s(publish_port), fwd_tp = throughput_mib_s(hostfwd_port);
  const double pub_rtt = round_trip_us(publish_echo), fwd_rtt = round_trip_us(hostfwd_echo);
  session->reset();
  std::filesystem::remove_all(state);
  if (pub_tp < 0 || fwd_tp < 0 || pub_rtt < 0 || fwd_rtt < 0) {
    fmt::print(stderr, "publish: a path failed (publish {:.1f} MiB/s {:.0f} us, hostfwd {:.1f} MiB/s {:.0f} us)\n", pub_tp,
               pub_rtt, fwd_tp, fwd_rtt);
    return 1;
  }
  fmt::print("accel: {}\n", accel.accel);
  fmt::print("throughput (16 MiB HTTP download, 3 runs): --publish {:.1f} MiB/s, hostfwd {:.1f} MiB/s, ratio {:.2f}\n", pub_tp,
             fwd_tp, pub_tp / fwd_tp);
  fmt::print("1-byte round trip (median of {}): --publish {:.0f} us, hostfwd {:.0f} us, ratio {:.2f}\n", kRoundTrips, pub_rtt,
             fwd_rtt, pub_rtt / fwd_rtt);
  return 0;
}
