#include "guestinit/power.hpp"

#include <sys/reboot.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "guestinit/console_log.hpp"

namespace microagent::guestinit {

void power_off() {
  ::sync();
  ::reboot(RB_POWER_OFF);
  log_line(std::string("power off failed: ") + std::strerror(errno) + "; trying reboot");
  // QEMU runs with -no-reboot, so a reboot request also ends the VM.
  ::reboot(RB_AUTOBOOT);
  log_line(std::string("reboot failed: ") + std::strerror(errno));
  // Last resort: exiting PID 1 panics the kernel, and panic=-1 reboots, which
  // -no-reboot turns into a QEMU exit. Better than a guest that never ends.
  ::_exit(1);
}

void fatal_power_off(const char* reason) {
  log_line(std::string("fatal: ") + reason);
  power_off();
}

}  // namespace microagent::guestinit
