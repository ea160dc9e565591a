#pragma once
// The two ways guest init runs: as the guest's PID 1 (the whole boot-to-power-off
// sequence), and as an ordinary program on a host for tests and development.

namespace microagent::guestinit {

// Mounts, modules, config, disks, workload, result over vsock, power off.
// Never returns: PID 1 exiting would panic the kernel.
[[noreturn]] void run_as_pid1();

// Not PID 1: `--run-config FILE` runs that config and prints the result JSON on
// stdout. Nothing is mounted and nothing is powered off. Returns the exit status.
int run_as_program(int argc, char** argv);

}  // namespace microagent::guestinit
