#pragma once
// Guest init's only log: lines on its stderr, which is /dev/console (ttyS0) when
// it runs as PID 1, so they land in the host's serial.log.
#include <string_view>

namespace microagent::guestinit {

// Writes "microagent-guestinit: <message>\n" with one write(2): no buffering, so
// a line printed just before power-off is not lost.
void log_line(std::string_view message);

// Debug lines are printed only when the kernel command line has microagent.debug=1.
void set_debug_logging(bool enabled);
bool debug_logging();
void debug_line(std::string_view message);

}  // namespace microagent::guestinit
