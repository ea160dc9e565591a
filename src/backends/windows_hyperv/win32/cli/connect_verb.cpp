// microagent.exe connect NAME [--send 'CMD'] [-- CMD ARGS...] over a Hyper-V
// socket to the guest's connect port; the session logic is the portable
// windows_hyperv/workspace_connect, the console and the socket are Win32.
#include "backends/windows_hyperv/win32/windows_headers.hpp"

#include <cstdlib>

#include "backends/windows_hyperv/win32/cli/console_io.hpp"
#include "backends/windows_hyperv/win32/cli/workspace_verbs.hpp"
#include "backends/windows_hyperv/win32/win32_channels.hpp"
#include "backends/windows_hyperv/workspace_connect.hpp"

namespace microagent::windows_cli {

using namespace std::chrono_literals;

int run_connect_verb(const CliContext& context, const ConnectVerbOptions& options) {
  const bool console = stdin_is_console();
  windows_hyperv::ConnectCommand command;
  command.send = options.send;
  command.command = options.command;
  // --send never takes a terminal; a console on stdin is a person, not input.
  command.tty = !options.send && console;
  if (command.tty) {
    const char* term = std::getenv("TERM");
    command.env["TERM"] = term && *term ? term : "xterm-256color";
    command.size = console_window_size();
  }
  windows_hyperv::GuestConnector connector = [](const std::string& vm, std::uint32_t port) {
    return windows_hyperv::win32::connect_hvsocket(vm, port, 10s);
  };
  StdOutput output;
  Result<int> code = [&]() -> Result<int> {
    if (command.tty) {
      RawConsole raw;  // restored on every way out of this scope
      ConsoleInput input;
      return windows_hyperv::connect_workspace(context.state_dir, options.name, command, connector, &input, output);
    }
    if (console) return windows_hyperv::connect_workspace(context.state_dir, options.name, command, connector, nullptr, output);
    StreamInput input;
    return windows_hyperv::connect_workspace(context.state_dir, options.name, command, connector, &input, output);
  }();
  if (!code) return report_error(context, code.error());
  return *code;
}

}  // namespace microagent::windows_cli
