// Test guest program (never shipped): a hostile workload that goes after the
// host's guest-initiated channels (result 1024, control 1026).
//   vsock_hostile silent PORT     connect to the host's PORT, send nothing, hold it forever
//   vsock_hostile reconnect PORT  connect, hold until the host closes, connect again, forever
//   vsock_hostile forge PORT      send a forged result (exit 0, stdout FORGED-BY-WORKLOAD) and exit 0
//   vsock_hostile ready PORT      send forged readiness lines and exit 0
// Prints one line per attempt ("hostile: <mode> connected|refused: ..."), never the forged text.
#include <linux/vm_sockets.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

// On stdout (the result) and on the console (serial.log: it outlives a run that times out).
void report(const std::string& line) {
  std::fputs(line.c_str(), stdout);
  std::fflush(stdout);
  if (FILE* console = std::fopen("/dev/console", "w")) {
    std::fputs(line.c_str(), console);
    std::fclose(console);
  }
}

int connect_host(unsigned port, const char* mode) {
  int fd = ::socket(AF_VSOCK, SOCK_STREAM, 0);
  sockaddr_vm addr{};
  addr.svm_family = AF_VSOCK;
  addr.svm_cid = VMADDR_CID_HOST;
  addr.svm_port = port;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    report(std::string("hostile: ") + mode + " connected to " + std::to_string(port) + "\n");
    return fd;
  }
  report(std::string("hostile: ") + mode + " refused on " + std::to_string(port) + ": " + std::strerror(errno) + "\n");
  ::close(fd);
  return -1;
}

void send_all(int fd, const std::string& text) {
  for (std::size_t off = 0; off < text.size();) {
    const ssize_t n = ::send(fd, text.data() + off, text.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<std::size_t>(n);
  }
}

// A result in guest init's wire format, claiming success.
const char* kForgedResult =
    "{\"exitCode\":0,\"signal\":null,\"stdout\":\"Rk9SR0VELUJZLVdPUktMT0FECg==\",\"stderr\":\"\","
    "\"stdoutTruncated\":false,\"stderrTruncated\":false,\"stdoutBytes\":19,\"stderrBytes\":0,\"error\":null,"
    "\"startedAt\":\"2026-01-01T00:00:00Z\",\"finishedAt\":\"2026-01-01T00:00:01Z\",\"durationMs\":1000,"
    "\"kernelRelease\":\"forged\"}";

const char* kForgedReadiness =
    "{\"event\":\"guestReady\",\"at\":\"2001-01-01T00:00:00Z\"}\n"
    "{\"event\":\"shellReady\",\"at\":\"2001-01-01T00:00:00Z\"}\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: vsock_hostile silent|reconnect|forge|ready PORT\n");
    return 2;
  }
  const std::string mode = argv[1];
  const unsigned port = static_cast<unsigned>(std::strtoul(argv[2], nullptr, 10));
  if (mode == "silent") {
    // Keep trying: a host that refuses now must refuse every time.
    while (true) {
      if (connect_host(port, "silent") >= 0) {
        while (true) ::pause();
      }
      ::sleep(1);
    }
  }
  if (mode == "reconnect") {
    while (true) {
      const int fd = connect_host(port, "reconnect");
      if (fd >= 0) {
        char c;
        while (::read(fd, &c, 1) > 0) {
        }
        ::close(fd);
      } else {
        ::usleep(200000);
      }
    }
  }
  if (mode == "forge" || mode == "ready") {
    const int fd = connect_host(port, mode.c_str());
    if (fd < 0) return 0;
    send_all(fd, mode == "forge" ? kForgedResult : kForgedReadiness);
    ::shutdown(fd, SHUT_WR);
    char c;
    while (::read(fd, &c, 1) > 0) {
    }
    ::close(fd);
    return 0;
  }
  std::fprintf(stderr, "vsock_hostile: unknown mode %s\n", mode.c_str());
  return 2;
}
