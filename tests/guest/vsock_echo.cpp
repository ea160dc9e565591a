// Test guest program for the vhost-user-vsock device (never shipped). Inside the guest:
//  1. connects to the host (CID 2) port 1024, sends `bytes` of a pattern, half-closes,
//     reads the echo to EOF and checks it;
//  2. listens on port 5000, accepts one host-initiated connection and echoes it to EOF.
// Prints one marker line per step for the host to assert on.
#include <linux/vm_sockets.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace {

char pattern_at(std::size_t i) { return static_cast<char>((i * 7 + i / 1000) & 0xff); }

int connect_host(unsigned port) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int fd = ::socket(AF_VSOCK, SOCK_STREAM, 0);
    sockaddr_vm addr{};
    addr.svm_family = AF_VSOCK;
    addr.svm_cid = VMADDR_CID_HOST;
    addr.svm_port = port;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) return fd;
    std::printf("connect %u: %s\n", port, std::strerror(errno));
    ::close(fd);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return -1;
}

bool echo_client(std::size_t bytes) {
  auto t0 = std::chrono::steady_clock::now();
  int fd = connect_host(1024);
  if (fd < 0) return false;
  // Writer and reader run at once: the host echoes while we still send.
  std::thread writer([&] {
    std::string chunk;
    for (std::size_t sent = 0; sent < bytes;) {
      std::size_t n = std::min<std::size_t>(16384, bytes - sent);
      chunk.resize(n);
      for (std::size_t i = 0; i < n; ++i) chunk[i] = pattern_at(sent + i);
      ssize_t w = ::send(fd, chunk.data(), n, 0);
      if (w <= 0) break;
      sent += static_cast<std::size_t>(w);
    }
    ::shutdown(fd, SHUT_WR);
  });
  std::size_t got = 0, bad = 0;
  char buf[65536];
  for (;;) {
    ssize_t r = ::recv(fd, buf, sizeof(buf), 0);
    if (r <= 0) break;
    for (ssize_t i = 0; i < r; ++i) bad += buf[i] != pattern_at(got + i);
    got += static_cast<std::size_t>(r);
  }
  writer.join();
  ::close(fd);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  std::printf("GUEST-ECHO %s bytes=%zu mismatched=%zu ms=%lld\n", got == bytes && bad == 0 ? "OK" : "FAIL", got,
              bad, static_cast<long long>(ms));
  return got == bytes && bad == 0;
}

bool echo_server() {
  int ls = ::socket(AF_VSOCK, SOCK_STREAM, 0);
  sockaddr_vm addr{};
  addr.svm_family = AF_VSOCK;
  addr.svm_cid = VMADDR_CID_ANY;
  addr.svm_port = 5000;
  if (::bind(ls, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(ls, 4) != 0) {
    std::printf("GUEST-LISTEN FAIL %s\n", std::strerror(errno));
    return false;
  }
  std::printf("GUEST-LISTENING 5000\n");
  std::fflush(stdout);
  int fd = ::accept(ls, nullptr, nullptr);
  std::size_t total = 0;
  char buf[65536];
  for (;;) {
    ssize_t r = ::recv(fd, buf, sizeof(buf), 0);
    if (r <= 0) break;
    for (ssize_t off = 0; off < r;) {
      ssize_t w = ::send(fd, buf + off, r - off, 0);
      if (w <= 0) break;
      off += w;
    }
    total += static_cast<std::size_t>(r);
  }
  ::close(fd);
  ::close(ls);
  std::printf("GUEST-LISTEN OK echoed=%zu\n", total);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t bytes = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1 << 20;
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  bool ok = echo_client(bytes);
  ok = echo_server() && ok;
  std::printf("GUEST-DONE %s\n", ok ? "OK" : "FAIL");
  return ok ? 0 : 1;
}
