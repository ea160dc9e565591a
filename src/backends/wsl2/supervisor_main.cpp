// microagent-wsl2-supervisor: the linux-kvm supervisor for WSL2 distros, one
// JSON request on stdin, one JSON response on stdout (DESIGN.md section 2).
#include <signal.h>

#include <iostream>
#include <iterator>
#include <string>

#include "backends/wsl2/wsl2_backend.hpp"

int main() {
  // As in the linux-kvm supervisor: a running VM session takes termination
  // signals synchronously (signalfd) to tear the VM down and record the final event.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::string request((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  auto backend = microagent::wsl2::Wsl2Backend::for_this_host();
  microagent::supervisor::Response response;
  try {
    response = microagent::supervisor::serve_request(backend, request);
  } catch (const std::exception& e) {
    response.body = {{"ok", false},
                     {"backend", std::string(backend.name())},
                     {"error", {{"code", "internal"}, {"message", std::string("unexpected failure: ") + e.what()}}}};
    response.exit_code = 1;
  }
  std::cout << response.body.dump() << std::endl;
  return response.exit_code;
}
