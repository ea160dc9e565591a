// microagent-linux-kvm-supervisor: one JSON request on stdin, one JSON response
// on stdout, exit 0 exactly when the response says ok (DESIGN.md section 2).
#include <signal.h>

#include <iostream>
#include <iterator>
#include <string>

#include "backends/linux_kvm/linux_kvm_backend.hpp"
#include "backends/linux_kvm/runtime_shim.hpp"

int main(int argc, char** argv) {
  // Termination signals are taken synchronously (signalfd) by a running VM
  // session, so it can tear the VM down and record the final event.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::string request((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  // `shim` mode: the detached runtime shim of a started workspace (see runtime_shim.hpp).
  if (argc > 1 && std::string(argv[1]) == "shim") return microagent::linux_kvm::run_runtime_shim(request);
  microagent::linux_kvm::LinuxKvmBackend backend;
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
