#include "backends/linux_kvm/vm_handle.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>
#include <thread>

#include "common/unique_fd.hpp"

namespace microagent::linux_kvm {

VmHandle VmHandle::from_runtime(const nlohmann::json& runtime) {
  VmHandle h;
  auto pid_of = [&](const char* key) -> pid_t {
    return runtime.contains(key) && runtime[key].is_number_integer() ? runtime[key].get<pid_t>() : 0;
  };
  h.shim_pid = pid_of("shimPid");
  h.qemu_pid = pid_of("qemuPid");
  h.qemu_exited = runtime.contains("qemuExited") && runtime["qemuExited"].is_boolean() && runtime["qemuExited"].get<bool>();
  if (runtime.contains("sockets") && runtime["sockets"].is_object()) {
    const auto& s = runtime["sockets"];
    auto path_of = [&](const char* key) {
      return s.contains(key) && s[key].is_string() ? std::filesystem::path(s[key].get<std::string>()) : std::filesystem::path();
    };
    h.vhost_user = path_of("vhostUser");
    h.vsock = path_of("vsock");
    h.qmp = path_of("qmp");
    h.serial_in = path_of("serialIn");
  }
  return h;
}

bool process_alive(pid_t pid) {
  if (pid <= 0) return false;
  if (::kill(pid, 0) != 0 && errno == ESRCH) return false;
  // A zombie (exited, not yet reaped by its parent) is not alive.
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const auto close = line.rfind(')');
  return !(close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z');
}

bool VmHandle::qemu_alive() const { return !qemu_exited && process_alive(qemu_pid); }
bool VmHandle::shim_alive() const { return process_alive(shim_pid); }

bool wait_for_exit(pid_t pid, std::chrono::milliseconds timeout) {
  if (!process_alive(pid)) return true;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  while (std::chrono::steady_clock::now() < deadline) {
    if (pidfd) {
      pollfd p{pidfd.get(), POLLIN, 0};
      ::poll(&p, 1, 50);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!process_alive(pid)) return true;
  }
  return !process_alive(pid);
}

}  // namespace microagent::linux_kvm
