// microagent-windows-hyperv-supervisor.exe: one JSON request on stdin, one
// JSON response on stdout, exit 0 exactly when ok (DESIGN.md section 2).
// A host without HCS answers host_unavailable; nothing here may crash.
#include <fcntl.h>
#include <io.h>
#include "backends/windows_hyperv/win32/windows_headers.hpp"

#include <cstdio>
#include <string>

#include "backends/windows_hyperv/win32/listener_helper.hpp"
#include "backends/windows_hyperv/win32/win32_windows_host.hpp"
#include "backends/windows_hyperv/win32/windows_paths.hpp"
#include "backends/windows_hyperv/windows_hyperv_backend.hpp"
#include "supervisor/stdio_server.hpp"

using namespace microagent;

int main(int argc, char** argv) {
  // The detached listener helper of a started workspace (listener_helper.hpp).
  if (argc == 3 && std::string(argv[1]) == "listener-helper") {
    return windows_hyperv::win32::run_listener_helper(argv[2]);
  }
  _setmode(_fileno(stdin), _O_BINARY);
  _setmode(_fileno(stdout), _O_BINARY);
  const std::string request = supervisor::read_request_from_stdin();
  windows_hyperv::win32::Win32WindowsHost host;
  windows_hyperv::BackendPaths paths{windows_hyperv::win32::microagent_home() / "kernels" / "x86_64" / "current",
                                     windows_hyperv::win32::executable_dir() / "microagent-guestinit-x86_64"};
  windows_hyperv::WindowsHypervBackend backend(host, paths);
  return supervisor::answer_request(backend, request);
}
