#pragma once
// A started workspace's VM as later commands find it: the PIDs and sockets the
// runtime shim recorded in runtime.json. Neither process is our child, so
// waiting uses pidfds.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>

#include "supervisor/runtime_record.hpp"

namespace microagent::linux_kvm {

struct VmHandle {
  pid_t shim_pid = 0;
  pid_t qemu_pid = 0;
  bool qemu_exited = false;  // the shim recorded the exit
  std::filesystem::path vhost_user, vsock, qmp, serial_in;

  static VmHandle from_record(const supervisor::RuntimeRecord& runtime);
  bool qemu_alive() const;
  bool shim_alive() const;
};

bool process_alive(pid_t pid);
// True when `pid` is gone within `timeout`.
bool wait_for_exit(pid_t pid, std::chrono::milliseconds timeout);

}  // namespace microagent::linux_kvm
