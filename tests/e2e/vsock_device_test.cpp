// Boots a real guest (TCG) against microagent's own vhost-user-vsock device and checks both
// directions of the hybrid-vsock convention with real bytes. The guest is the cached
// kernel artifact with an initramfs of busybox, the virtio/vsock modules and a test
// program (tests/guest/vsock_echo.cpp) under a shell /init.
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
#include "backends/linux_kvm/host_tsc.hpp"
#include "backends/linux_kvm/qemu_command.hpp"
#include "common/paths.hpp"
#include "image/initramfs.hpp"
#include "image/kernel_artifact.hpp"
#include "image/module_order.hpp"

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
  auto artifact = image::load_kernel_artifact(default_kernel_cache());
  ASSERT_TRUE(artifact) << "run `build/bin/microagent kernel fetch`";
  const std::string kernel_path = artifact->vmlinux.string();
  const char* kernel = kernel_path.c_str();
  fs::path guest_bin = fs::path(MICROAGENT_BIN_DIR) / "test-guest-vsock_echo";
  ASSERT_TRUE(fs::exists(guest_bin)) << guest_bin << " not built";

  char tmpl[] = "/tmp/mavse2eXXXXXX";
  fs::path dir = ::mkdtemp(tmpl);
  {
    std::ofstream init(dir / "init");
    init << "#!/bin/busybox sh\n/bin/busybox mount -t proc proc /proc\n"
            "for m in $(cat /microagent/modules.order); do insmod /lib/modules/$(uname -r)/$m; done\n"
            "/bin/vsock_echo 1048576\npoweroff -f\n";
  }
  std::ifstream program(guest_bin, std::ios::binary);
  std::stringstream program_bytes;
  program_bytes << program.rdbuf();
  image::InitramfsSpec spec;
  spec.guest_init = dir / "init";
  spec.modules_dir = artifact->modules_dir;
  spec.kernel_release = artifact->release;
  spec.modules = image::kMicrovmModules;
  spec.busybox = image::kHostBusyboxStatic;
  spec.extra_files.push_back({"bin/vsock_echo", program_bytes.str(), 0755});
  ASSERT_TRUE(image::write_initramfs(spec, dir / "initrd.cpio"));

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
  const std::string cmdline = build_kernel_cmdline({host_tsc_khz(), true, ""});
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
             "-initrd", initrd.c_str(), "-append", cmdline.c_str(),
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
