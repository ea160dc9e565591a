// microagent-windows-hyperv-supervisor.exe: one JSON request on stdin, one
// JSON response on stdout, exit 0 exactly when ok (DESIGN.md section 2).
// A host without HCS answers host_unavailable; nothing here may crash.
#include <fcntl.h>
#include <io.h>
#include "backends/windows_hyperv/win32/windows_headers.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <iterator>
#include <string>

#include "backends/windows_hyperv/win32/listener_helper.hpp"
#include "backends/windows_hyperv/win32/win32_windows_host.hpp"
#include "backends/windows_hyperv/windows_hyperv_backend.hpp"

namespace {

using namespace microagent;

std::filesystem::path executable_dir() {
  wchar_t buffer[MAX_PATH * 4];
  const DWORD n = GetModuleFileNameW(nullptr, buffer, static_cast<DWORD>(std::size(buffer)));
  return std::filesystem::path(std::wstring(buffer, n)).parent_path();
}

// %MICROAGENT_HOME%, else %LOCALAPPDATA%\microagent, else beside the .exe.
std::filesystem::path microagent_home() {
  if (const wchar_t* home = _wgetenv(L"MICROAGENT_HOME"); home && *home) return home;
  if (const wchar_t* local = _wgetenv(L"LOCALAPPDATA"); local && *local) return std::filesystem::path(local) / "microagent";
  return executable_dir();
}

}  // namespace

int main(int argc, char** argv) {
  // The detached listener helper of a started workspace (listener_helper.hpp).
  if (argc == 3 && std::string(argv[1]) == "listener-helper") {
    return windows_hyperv::win32::run_listener_helper(argv[2]);
  }
  _setmode(_fileno(stdin), _O_BINARY);
  _setmode(_fileno(stdout), _O_BINARY);
  const std::string request((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  windows_hyperv::win32::Win32WindowsHost host;
  windows_hyperv::BackendPaths paths{microagent_home() / "kernels" / "x86_64" / "current",
                                     executable_dir() / "microagent-guestinit-x86_64"};
  windows_hyperv::WindowsHypervBackend backend(host, paths);
  supervisor::Response response;
  try {
    response = supervisor::serve_request(backend, request);
  } catch (const std::exception& e) {
    response.body = {{"ok", false},
                     {"backend", std::string(backend.name())},
                     {"error", {{"code", "internal"}, {"message", std::string("unexpected failure: ") + e.what()}}}};
    response.exit_code = 1;
  }
  std::cout << response.body.dump() << std::endl;
  return response.exit_code;
}
