#pragma once
// The end of every guest: PID 1 must never return (the kernel would panic), so
// every path, good or fatal, ends here.

namespace microagent::guestinit {

// sync(), then reboot(RB_POWER_OFF): on QEMU microvm that exits QEMU.
[[noreturn]] void power_off();

// Prints the reason on the console, then powers off.
[[noreturn]] void fatal_power_off(const char* reason);

}  // namespace microagent::guestinit
