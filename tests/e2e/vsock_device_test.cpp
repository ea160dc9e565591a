// Boots a real guest (TCG) against microagent's own vhost-user-vsock device and checks both
// directions of the hybrid-vsock convention with real bytes. Needs a kernel and an
// initramfs holding busybox and the virtio/vsock modules (/modules/order):
//   MICROAGENT_TEST_KERNEL=/path/vmlinux MICROAGENT_TEST_MODULES_CPIO=/path/modules.cpio
#include <gtest/gtest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include "backends/linux_kvm/vsock/vhost_user_vsock_device.hpp"

namespace microagent::linux_kvm {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool wait_for(const fs::path& log, const std::string& marker, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (slurp(log).find(marker) != std::string::npos) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

int unix_socket(const std::string& path, bool listen_mode) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  if (listen_mode) {
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, 8) != 0) return -1;
  } else if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Echoes every byte back, then half-closes: what the guest's step 1 expects on port 1024.
void echo_until_eof(int fd) {
  char buf[65536];
  for (;;) {
    ssize_t r = ::recv(fd, buf, sizeof(buf), 0);
    if (r <= 0) break;
    for (ssize_t off = 0; off < r;) {
      ssize_t w = ::send(fd, buf + off, r - off, MSG_NOSIGNAL);
      if (w <= 0) return;
      off += w;
    }
  }
  ::shutdown(fd, SHUT_WR);
}

TEST(VsockDeviceE2E, RealGuestTalksBothWaysThroughHybridSockets) {
  const char* kernel = std::getenv("MICROAGENT_TEST_KERNEL");
  const char* modules = std::getenv("MICROAGENT_TEST_MODULES_CPIO");
  if (!kernel || !modules) GTEST_SKIP() << "set MICROAGENT_TEST_KERNEL and MICROAGENT_TEST_MODULES_CPIO";
  fs::path guest_bin = fs::path(MICROAGENT_BIN_DIR) / "test-guest-vsock_echo";
  if (!fs::exists(guest_bin)) GTEST_SKIP() << guest_bin << " not built";

  char tmpl[] = "/tmp/mavse2eXXXXXX";
  fs::path dir = ::mkdtemp(tmpl);
  // Our /init and program go in a second newc archive; the kernel unpacks both and the
  // later /init wins.
  fs::create_directories(dir / "overlay/bin");
  fs::copy_file(guest_bin, dir / "overlay/bin/vsock_echo");
  {
    std::ofstream init(dir / "overlay/init");
    init << "#!/bin/busybox sh\n/bin/busybox mount -t proc proc /proc\n"
            "for m in $(cat /modules/order); do insmod /modules/$m; done\n"
            "/bin/vsock_echo 1048576\npoweroff -f\n";
  }
  fs::permissions(dir / "overlay/init", fs::perms::owner_all);
  std::string pack = "cd " + (dir / "overlay").string() + " && find . | cpio -o -H newc --quiet > ../extra.cpio && cat " +
                     std::string(modules) + " ../extra.cpio > ../initrd.cpio";
  ASSERT_EQ(std::system(pack.c_str()), 0);

  std::string uds = (dir / "v.sock").string();
  auto device = VhostUserVsockDevice::start({dir / "vu.sock", uds, 3});
  ASSERT_TRUE(device) << device.error().message;
  int echo_listener = unix_socket(uds + "_1024", true);
  ASSERT_GE(echo_listener, 0);
  std::thread echo([&] {
    pollfd pfd{echo_listener, POLLIN, 0};
    if (::poll(&pfd, 1, 120000) != 1) return;
    int fd = ::accept(echo_listener, nullptr, nullptr);
    echo_until_eof(fd);
    ::close(fd);
  });

  fs::path log = dir / "serial.log";
  auto boot_start = std::chrono::steady_clock::now();
  pid_t qemu = ::fork();
  if (qemu == 0) {
    int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(out, 1);
    ::dup2(out, 2);
    std::string initrd = (dir / "initrd.cpio").string();
    std::string chardev = "socket,id=vsock0,path=" + (dir / "vu.sock").string();
    ::execlp("qemu-system-x86_64", "qemu-system-x86_64", "-M", "microvm,memory-backend=mem", "-accel", "tcg",
             "-cpu", "max", "-m", "256", "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio",
             "-object", "memory-backend-memfd,id=mem,size=256M,share=on", "-global", "virtio-mmio.force-legacy=false",
             "-chardev", chardev.c_str(), "-device", "vhost-user-vsock-device,chardev=vsock0", "-kernel", kernel,
             "-initrd", initrd.c_str(), "-append", "console=ttyS0 quiet panic=-1 tsc_early_khz=2000000",
             static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ASSERT_GT(qemu, 0);

  bool echoed = wait_for(log, "GUEST-ECHO OK", 120s);
  auto echo_done = std::chrono::steady_clock::now();
  EXPECT_TRUE(echoed) << slurp(log);
  EXPECT_TRUE(device.value()->front_end_connected());

  // Host-initiated: CONNECT to the guest's listener on port 5000 and get an echo back.
  ASSERT_TRUE(wait_for(log, "GUEST-LISTENING 5000", 60s)) << slurp(log);
  int host = unix_socket(uds, false);
  ASSERT_GE(host, 0);
  ASSERT_EQ(::send(host, "CONNECT 5000\n", 13, 0), 13);
  std::string reply;
  char c;
  while (reply.find('\n') == std::string::npos && ::recv(host, &c, 1, 0) == 1) reply += c;
  EXPECT_TRUE(reply.starts_with("OK ")) << reply;
  std::string payload(200000, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 13 + 5);
  std::thread writer([&] {
    ::send(host, payload.data(), payload.size(), MSG_NOSIGNAL);
    ::shutdown(host, SHUT_WR);
  });
  std::string back;
  char buf[65536];
  for (ssize_t r; (r = ::recv(host, buf, sizeof(buf), 0)) > 0;) back.append(buf, r);
  writer.join();
  ::close(host);
  EXPECT_EQ(back.size(), payload.size());
  EXPECT_TRUE(back == payload);

  EXPECT_TRUE(wait_for(log, "GUEST-DONE OK", 60s)) << slurp(log);
  int status = 0;
  for (int i = 0; i < 300 && ::waitpid(qemu, &status, WNOHANG) == 0; ++i) std::this_thread::sleep_for(100ms);
  if (::waitpid(qemu, &status, WNOHANG) == 0) {
    ::kill(qemu, SIGKILL);
    ::waitpid(qemu, &status, 0);
  }
  echo.join();
  ::close(echo_listener);
  std::cout << "guest echo step done after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(echo_done - boot_start).count()
            << " ms from QEMU launch\n";
  std::cout << slurp(log);
  device->reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace microagent::linux_kvm
