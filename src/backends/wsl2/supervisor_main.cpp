// microagent-wsl2-supervisor: the linux-kvm supervisor for WSL2 distros, one
// JSON request on stdin, one JSON response on stdout (DESIGN.md section 2).
#include "backends/wsl2/wsl2_backend.hpp"
#include "supervisor/stdio_server.hpp"
#include "supervisor/termination_signals.hpp"

int main() {
  microagent::supervisor::block_termination_signals();
  const auto request = microagent::supervisor::read_request_from_stdin();
  auto backend = microagent::wsl2::Wsl2Backend::for_this_host();
  return microagent::supervisor::answer_request(backend, request);
}
