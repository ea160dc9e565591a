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

VmHandle VmHandle::from_record(const supervisor::RuntimeRecord& runtime) {
  VmHandle h;
  h.shim_pid = runtime.shim_pid;
  h.qemu_pid = runtime.qemu_pid;
  h.qemu_exited = runtime.qemu_exited;
  if (runtime.sockets) {
    h.vhost_user = runtime.sockets->vhost_user;
    h.vsock = runtime.sockets->vsock;
    h.qmp = runtime.sockets->qmp;
    h.serial_in = runtime.sockets->serial_in;
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
