#include "guestinit/console_log.hpp"

#include <unistd.h>

#include <cerrno>
#include <string>

#include "guestinit/guest_clock.hpp"

namespace microagent::guestinit {
namespace {
bool g_debug = false;
}

void log_line(std::string_view message) {
  std::string line = "microagent-guestinit: ";
  line.append(message);
  line += '\n';
  std::string_view rest = line;
  while (!rest.empty()) {
    const ssize_t n = ::write(STDERR_FILENO, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // no console: nothing else to tell
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

void set_debug_logging(bool enabled) { g_debug = enabled; }
bool debug_logging() { return g_debug; }

void debug_line(std::string_view message) {
  // Milliseconds since boot, to see where a slow boot spends its time.
  if (g_debug) log_line("[" + std::to_string(monotonic_ms()) + " ms] " + std::string(message));
}

}  // namespace microagent::guestinit
