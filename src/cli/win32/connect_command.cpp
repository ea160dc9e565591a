// microagent.exe connect NAME [--send 'CMD'] [-- CMD ARGS...] over a Hyper-V
// socket to the guest's connect port; the session logic is the portable
// windows_hyperv/workspace_connect, the console and the socket are Win32.
#include "backends/windows_hyperv/win32/windows_headers.hpp"

#include <cstdlib>
#include <memory>

#include "backends/windows_hyperv/win32/win32_channels.hpp"
#include "backends/windows_hyperv/workspace_connect.hpp"
#include "cli/commands.hpp"
#include "cli/win32/console_io.hpp"
#include "cli/workspace_client.hpp"

namespace microagent::cli {

using namespace std::chrono_literals;

int run_connect(const GlobalOptions& global, const ConnectOptions& options) {
  const bool console = win32_cli::stdin_is_console();
  windows_hyperv::ConnectCommand command;
  command.send = options.send;
  command.command = options.command;
  command.user = options.user;
  // --send never takes a terminal; a console on stdin is a person, not input.
  command.tty = !options.send && console;
  if (command.tty) {
    const char* term = std::getenv("TERM");
    command.env["TERM"] = term && *term ? term : "xterm-256color";
    command.size = win32_cli::console_window_size();
  }
  windows_hyperv::GuestConnector connector = [](const std::string& vm, std::uint32_t port) {
    return windows_hyperv::win32::connect_hvsocket(vm, port, 10s);
  };
  const std::filesystem::path state_dir = absolute_state_dir(global);
  win32_cli::StdOutput output;
  Result<int> code = [&]() -> Result<int> {
    if (command.tty) {
      win32_cli::RawConsole raw;  // restored on every way out of this scope
      win32_cli::ConsoleInput input;
      return windows_hyperv::connect_workspace(state_dir, options.name, command, connector, &input, output);
    }
    if (console) return windows_hyperv::connect_workspace(state_dir, options.name, command, connector, nullptr, output);
    win32_cli::StreamInput input;
    return windows_hyperv::connect_workspace(state_dir, options.name, command, connector, &input, output);
  }();
  if (!code) return report(global, code.error());
  return *code;
}

}  // namespace microagent::cli
