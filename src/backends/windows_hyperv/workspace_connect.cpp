#include "backends/windows_hyperv/workspace_connect.hpp"

#include "backends/windows_hyperv/hv_constants.hpp"
#include "backends/windows_hyperv/vm_record.hpp"
#include "common/guest_wire.hpp"
#include "protocol/json_codec.hpp"
#include "supervisor/runtime_store.hpp"

namespace microagent::windows_hyperv {

Result<ConnectTarget> connect_target(const std::filesystem::path& state_dir, const std::string& name) {
  auto runtime_id = protocol::RuntimeId::parse(name);
  if (!runtime_id) return std::unexpected(runtime_id.error());
  supervisor::RuntimeStore store(state_dir, std::move(*runtime_id));
  if (!store.exists()) return fail(ErrorCode::not_found, "no workspace named '" + name + "'");
  const std::string not_running = "workspace '" + name + "' is not running: start it first (microagent start " + name + ")";
  auto latest = store.latest();
  if (!latest) return std::unexpected(latest.error());
  if (!*latest || ((*latest)->state != protocol::State::running && (*latest)->state != protocol::State::starting)) {
    return fail(ErrorCode::conflict, not_running);
  }
  auto runtime = store.read_runtime();
  if (!runtime) return std::unexpected(runtime.error());
  const VmRecord vm = vm_record_from_json(*runtime);
  const auto id = vm.extra.find("vmRuntimeId");
  if (vm.compute_system_id.empty() || vm.exited || id == vm.extra.end() || !id->is_string() ||
      id->get<std::string>().empty()) {
    return fail(ErrorCode::conflict, not_running);
  }
  return ConnectTarget{vm.compute_system_id, id->get<std::string>()};
}

connect_wire::ConnectRequest connect_request_for(const ConnectCommand& command) {
  connect_wire::ConnectRequest request;
  request.user = command.user;
  if (command.send) {
    request.command = {"/bin/sh", "-c", *command.send};
    return request;
  }
  request.command = command.command;
  request.tty = command.tty;
  if (command.tty) {
    request.size = command.size;
    request.env = command.env;
  }
  return request;
}

Result<int> connect_workspace(const std::filesystem::path& state_dir, const std::string& name,
                              const ConnectCommand& command, const GuestConnector& connector,
                              ConnectInputSource* input, ConnectOutput& output) {
  auto target = connect_target(state_dir, name);
  if (!target) return std::unexpected(target.error());
  auto stream = connector(target->vm_runtime_id, kConnectPort);
  if (!stream) {
    // No Hyper-V sockets on this host at all is the host's fault, not the workspace's.
    if (stream.error().code == ErrorCode::host_unavailable) return std::unexpected(stream.error());
    return fail(ErrorCode::conflict, "workspace '" + name +
                                         "' does not accept connect sessions (is it started, and is its guest up?): " +
                                         stream.error().message);
  }
  auto session = run_connect_session(**stream, connect_request_for(command), input, output);
  if (!session) return std::unexpected(session.error());
  return session->exit_code;
}

}  // namespace microagent::windows_hyperv
