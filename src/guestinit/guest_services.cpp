#include "guestinit/guest_services.hpp"

#include <dirent.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "common/fd_io.hpp"
#include "common/clock.hpp"
#include "common/unique_fd.hpp"
#include "guestinit/connect_server.hpp"
#include "guestinit/console_log.hpp"
#include "guestinit/console_shell.hpp"
#include "guestinit/control_channel.hpp"
#include "guestinit/guest_clock.hpp"
#include "guestinit/mounts.hpp"
#include "guestinit/power.hpp"
#include "guestinit/power_button.hpp"
#include "guestinit/result_sender.hpp"

namespace microagent::guestinit {
namespace {

// How long the readiness lines may take to leave: the host reads them as they come.
constexpr int kReadinessWriteMs = 2000;

UniqueFd listen_vsock(std::uint32_t port) {
  UniqueFd fd(::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) {
    log_line("vsock socket for port " + std::to_string(port) + ": " + std::strerror(errno));
    return {};
  }
  sockaddr_vm addr{};
  addr.svm_family = AF_VSOCK;
  addr.svm_cid = VMADDR_CID_ANY;
  addr.svm_port = port;
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd.get(), 16) != 0) {
    log_line("vsock listen on port " + std::to_string(port) + ": " + std::strerror(errno));
    return {};
  }
  return fd;
}

// Writes guestReady and shellReady on guest init's control connection and
// closes it: the host accepts that one connection per boot, so nothing sent
// on any later connection (a workload's) counts.
void send_readiness(UniqueFd control, const std::string& guest_ready_at, const std::string& shell_ready_at) {
  if (!control) return;
  const std::string lines = readiness_line("guestReady", guest_ready_at) + readiness_line("shellReady", shell_ready_at);
  if (auto sent = write_before(control.get(), lines, monotonic_ms() + kReadinessWriteMs); !sent) {
    debug_line("readiness not delivered: " + sent.error().message);
    return;
  }
  debug_line("readiness sent");
}

// One host command on the control port; the request when it was a valid halt
// (already acknowledged).
std::optional<ControlRequest> serve_control(int listener) {
  UniqueFd fd(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  if (!fd) return std::nullopt;
  std::string line;
  const std::uint64_t deadline = monotonic_ms() + 2000;
  char c;
  while (line.size() < 4096 && monotonic_ms() < deadline) {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(deadline - monotonic_ms())) <= 0) continue;
    const ssize_t n = ::read(fd.get(), &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (c == '\n') break;
    line.push_back(c);
  }
  auto command = parse_control_command(line);
  if (!command) {
    write_fully(fd.get(), control_reply(false, command.error().message));
    return std::nullopt;
  }
  write_fully(fd.get(), control_reply(true));
  return *command;
}

[[noreturn]] void halt_services(const GuestConfig& config, ConsoleShell& console, std::string_view reason,
                                std::uint64_t grace_ms = kDefaultHaltGraceMs) {
  log_line(std::string(reason) + ": halting");
  console.hang_up();
  halt_guest(config, grace_ms);
}

// Processes other than PID 1, ourselves and kernel threads (which have no cmdline).
bool other_processes_left() {
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return false;
  bool found = false;
  const pid_t self = ::getpid();
  while (dirent* entry = ::readdir(dir)) {
    char* end = nullptr;
    const long pid = std::strtol(entry->d_name, &end, 10);
    if (*end != '\0' || pid <= 1 || pid == self) continue;
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
    FILE* f = std::fopen(path, "r");
    if (f == nullptr) continue;
    const bool user_process = std::fgetc(f) != EOF;
    std::fclose(f);
    if (user_process) {
      found = true;
      break;
    }
  }
  ::closedir(dir);
  return found;
}

void unmount_or_remount(const std::string& target) {
  if (::umount2(target.c_str(), 0) == 0) return;
  if (errno == EINVAL) return;  // not mounted
  if (::mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) != 0) {
    log_line("cannot unmount or remount read-only " + target + ": " + std::strerror(errno));
  }
}

[[noreturn]] void service_loop(const GuestConfig& config, const std::string& guest_ready_at, UniqueFd control) {
  UniqueFd connect_listener = listen_vsock(kConnectPort);
  UniqueFd control_listener = listen_vsock(kControlPort);
  // The modules were loaded before this process started, and loading them
  // creates the input device and its node synchronously: one scan is enough.
  // Opened before readiness goes out: a host that presses the button as soon
  // as the shell is ready must not press it into the void.
  PowerButtonWatcher power_button = PowerButtonWatcher::open();
  if (power_button.device_count() == 0) log_line("no ACPI power button input device: system_powerdown will not halt this guest");
  // Closed either way before any connect session is forked: no session ever holds it.
  if (connect_listener) send_readiness(std::move(control), guest_ready_at, rfc3339_now());
  control.reset();
  ConsoleShell console;
  console.start(monotonic_ms());
  std::vector<pollfd> fds;
  while (true) {
    pid_t reaped;
    while ((reaped = ::waitpid(-1, nullptr, WNOHANG)) > 0) console.on_exit(reaped, monotonic_ms());
    console.respawn_if_due(monotonic_ms());
    fds = {{connect_listener.get(), POLLIN, 0}, {control_listener.get(), POLLIN, 0}};
    for (const int fd : power_button.fds()) fds.push_back({fd, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), console.poll_timeout_ms(monotonic_ms(), 1000)) < 0 && errno != EINTR) {
      ::usleep(100000);
    }
    if (fds[0].revents & POLLIN) {
      UniqueFd stream(::accept4(connect_listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (stream && ::fork() == 0) {
        connect_listener.reset();
        control_listener.reset();
        power_button.close();
        SessionOptions session;
        session.default_user = config.user;
        serve_connect_session(stream.get(), session);
        ::_exit(0);
      }
    }
    if (fds[1].revents & POLLIN) {
      if (auto halt = serve_control(control_listener.get())) {
        halt_services(config, console, "halt requested by the host", halt->grace_ms);
      }
    }
    for (std::size_t i = 2; i < fds.size(); ++i) {
      if (fds[i].revents != 0 && power_button.pressed(fds[i].fd)) halt_services(config, console, "power button pressed");
    }
  }
}

}  // namespace

pid_t start_guest_services(const GuestConfig& config, const std::string& guest_ready_at, UniqueFd control,
                           int close_in_child) {
  const pid_t pid = ::fork();
  if (pid < 0) {
    log_line(std::string("cannot start the connect and control services: fork: ") + std::strerror(errno));
    return -1;
  }
  if (pid == 0) {
    if (close_in_child >= 0) ::close(close_in_child);
    service_loop(config, guest_ready_at, std::move(control));
  }
  return pid;
}

void halt_guest(const GuestConfig& config, std::uint64_t grace_ms) {
  // kill(-1) reaches every process but PID 1 and the caller.
  ::kill(-1, SIGTERM);
  const std::uint64_t deadline = monotonic_ms() + grace_ms;
  while (monotonic_ms() < deadline) {
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    if (!other_processes_left()) break;
    ::usleep(50000);
  }
  ::kill(-1, SIGKILL);
  ::usleep(100000);
  ::sync();
  for (auto it = config.disks.rbegin(); it != config.disks.rend(); ++it) unmount_or_remount(it->mount);
  if (!config.root_device.empty()) unmount_or_remount(kNewRoot);
  log_line("halted cleanly: powering off");
  power_off();
}

}  // namespace microagent::guestinit
