// microagent connect NAME [--send 'CMD'] [-- CMD ARGS...]: a shell or one
// command in a running workspace over vsock port 1025. The byte stream goes
// straight from this process to the guest (never through a supervisor), so the
// CLI reads the workspace's hybrid vsock socket from its runtime record itself.
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "common/connect_wire.hpp"
#include "common/guest_wire.hpp"
#include "protocol/json_codec.hpp"
#include "shim/connect_client.hpp"
#include "shim/hybrid_vsock.hpp"
#include "supervisor/runtime_record.hpp"

namespace microagent::cli {
namespace {

using nlohmann::json;
namespace wire = connect_wire;

// Puts the local terminal in raw mode and restores it on every way out of the scope.
class RawTerminal {
 public:
  explicit RawTerminal(int fd) : fd_(fd) {
    if (::tcgetattr(fd_, &saved_) != 0) return;
    termios raw = saved_;
    ::cfmakeraw(&raw);
    active_ = ::tcsetattr(fd_, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

// The workspace's hybrid vsock socket, as its runtime.json records it.
Result<std::filesystem::path> workspace_vsock(const std::string& state_dir, const std::string& name) {
  auto id = protocol::RuntimeId::parse(name);
  if (!id) return std::unexpected(id.error());
  const supervisor::RuntimeStore store(state_dir, std::move(*id));
  if (auto ok = store.check_workspace(); !ok) return std::unexpected(ok.error());
  auto runtime = supervisor::read_runtime_record(store);
  if (!runtime) return std::unexpected(runtime.error());
  if (!*runtime) {
    return fail(ErrorCode::conflict, "workspace '" + name + "' is not running (it has no runtime.json): start it first");
  }
  const auto& record = **runtime;
  const bool alive = !record.qemu_exited && (record.qemu_pid <= 0 || ::kill(record.qemu_pid, 0) == 0);
  if (!alive || !record.sockets || record.sockets->vsock.empty()) {
    return fail(ErrorCode::conflict, "workspace '" + name + "' is not running: start it first");
  }
  return std::filesystem::path(record.sockets->vsock);
}

}  // namespace

int run_connect(const GlobalOptions& global, const ConnectOptions& options) {
  auto report = [&](const Error& error) { return report_error(global, std::string(to_string(error.code)), error.message); };
  auto vsock = workspace_vsock(global.state_dir, options.name);
  if (!vsock) return report(vsock.error());
  auto stream = shim::connect_to_guest(*vsock, kConnectPort, std::chrono::seconds(10));
  if (!stream) {
    return report(Error{ErrorCode::conflict, "workspace '" + options.name +
                                                 "' does not accept connect sessions (is it started, and is its guest up?): " +
                                                 stream.error().message});
  }

  const bool stdin_is_terminal = ::isatty(STDIN_FILENO) == 1;
  wire::ConnectRequest request;
  shim::ConnectIo io;
  request.user = options.user;
  if (options.send) {
    request.command = {"/bin/sh", "-c", *options.send};
    // A terminal on stdin is a person, not input for the command.
    if (stdin_is_terminal) io.stdin_fd = -1;
  } else {
    request.command = options.command;
    request.tty = stdin_is_terminal;
  }
  if (request.tty) {
    if (const char* term = std::getenv("TERM")) request.env["TERM"] = term;
    winsize ws{};
    if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0) request.size = {ws.ws_row, ws.ws_col};
    io.terminal_fd = STDIN_FILENO;
  }
  Result<int> code = [&] {
    std::optional<RawTerminal> raw;
    if (request.tty) raw.emplace(STDIN_FILENO);
    return shim::run_connect_session(stream->get(), request, io);
  }();
  if (!code) return report(code.error());
  return *code;
}

}  // namespace microagent::cli
