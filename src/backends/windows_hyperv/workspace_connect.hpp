#pragma once
// `microagent.exe connect NAME [--send CMD] [-- CMD...]`: which VM to reach
// (the Hyper-V RuntimeId that `start` recorded in runtime.json) and the
// session on its connect port (1025, service 00000401-FACB-...). The stream
// goes straight from the CLI to the guest, never through a supervisor, like
// the Linux CLI's connect. Portable: the Win32 connector is passed in.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/connect_session.hpp"
#include "common/error.hpp"

namespace microagent::windows_hyperv {

// What runtime.json records for connect.
struct ConnectTarget {
  std::string compute_system_id;
  std::string vm_runtime_id;  // HCS "RuntimeId": the VmId of SOCKADDR_HV
};

// invalid_request for a bad name, not_found without the workspace, conflict
// when it is not running (latest event, `exited`, or no recorded RuntimeId).
Result<ConnectTarget> connect_target(const std::filesystem::path& state_dir, const std::string& name);

// Connects to the guest's vsock `port` of the VM `vm_runtime_id`.
using GuestConnector =
    std::function<Result<std::unique_ptr<GuestStream>>(const std::string& vm_runtime_id, std::uint32_t port)>;

struct ConnectCommand {
  std::optional<std::string> send;   // --send: `/bin/sh -c CMD`, never a tty
  std::vector<std::string> command;  // after --; empty: a login shell
  std::string user;                  // --user: uid[:gid] or name[:group]; empty: the workspace's
  bool tty = false;                  // interactive on a console
  connect_wire::WindowSize size;
  std::map<std::string, std::string> env;  // TERM for a tty
};

// The request line a command sends.
connect_wire::ConnectRequest connect_request_for(const ConnectCommand& command);

// Target, connection (a refused one is `conflict`, naming start and the guest),
// session. Returns the remote exit status.
Result<int> connect_workspace(const std::filesystem::path& state_dir, const std::string& name,
                              const ConnectCommand& command, const GuestConnector& connector,
                              ConnectInputSource* input, ConnectOutput& output);

}  // namespace microagent::windows_hyperv
