// microagent-linux-kvm-supervisor: one JSON request on stdin, one JSON response
// on stdout, exit 0 exactly when the response says ok (DESIGN.md section 2).
// Run as `microagent-linux-kvm-supervisor shim` it is a workspace's runtime shim.
#include <string>

#include "backends/linux_kvm/linux_kvm_backend.hpp"
#include "backends/linux_kvm/runtime_shim.hpp"
#include "supervisor/stdio_server.hpp"
#include "supervisor/termination_signals.hpp"

int main(int argc, char** argv) {
  microagent::supervisor::block_termination_signals();
  const std::string request = microagent::supervisor::read_request_from_stdin();
  if (argc > 1 && std::string(argv[1]) == "shim") return microagent::linux_kvm::run_runtime_shim(request);
  microagent::linux_kvm::LinuxKvmBackend backend;
  return microagent::supervisor::answer_request(backend, request);
}
