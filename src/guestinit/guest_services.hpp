#pragma once
// What a kept-alive guest (GuestConfig::keep_alive, a started workspace) serves
// besides its workload: `connect` sessions on vsock port 1025 and host
// commands (halt) on port 1026, plus the readiness lines it sends to the host;
// a respawning root shell on the serial console (console_shell.hpp); and a
// clean halt on the ACPI power button (power_button.hpp). They run in one
// process forked from PID 1, so a workload that runs in PID 1 never delays a
// shell, and a shell never delays the workload. `run` guests start none of it.
#include <sys/types.h>

#include <cstdint>
#include <string>

#include "common/guest_wire.hpp"
#include "common/unique_fd.hpp"

namespace microagent::guestinit {

// Forks the service process. `guest_ready_at` (RFC3339) is when modules and
// mounts were done. `control` is guest init's one connection to the host's
// control port (opened before any workload exists, docs/vsock.md), or invalid
// when the host end was not there: the readiness lines go on it, then it is
// closed. `close_in_child` is another fd of PID 1's (the result channel) the
// service process must not hold, or -1. The caller closes its copy of
// `control`. Returns the pid, or -1 (logged) when fork failed.
pid_t start_guest_services(const GuestConfig& config, const std::string& guest_ready_at, UniqueFd control,
                           int close_in_child);

// The clean end of a kept-alive guest: SIGTERM to every process, `grace_ms`
// for them to exit, SIGKILL, sync, unmount the config's disks (remount
// read-only when busy), power off. Callable from any process with
// CAP_SYS_BOOT, not just PID 1.
[[noreturn]] void halt_guest(const GuestConfig& config, std::uint64_t grace_ms);

}  // namespace microagent::guestinit
