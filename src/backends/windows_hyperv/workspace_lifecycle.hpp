#pragma once
// The detached lifecycle of a windows-hyperv workspace, with the transitions
// of docs/lifecycle.md: prepare (no compute system), start (a compute system
// that outlives the supervisor, its HCS identity in runtime.json), inspect,
// halt, quarantine, stop, kill, delete; console fails closed (use connect).
#include "backends/windows_hyperv/windows_host.hpp"
#include "common/error.hpp"
#include "protocol/types.hpp"

namespace microagent::windows_hyperv {

Result<protocol::Event> prepare_workspace(WindowsHost& host, const protocol::Request& request);
Result<protocol::Event> start_workspace(WindowsHost& host, const protocol::Request& request);
Result<protocol::Event> inspect_workspace(WindowsHost& host, const protocol::Request& request);
Result<protocol::Event> halt_workspace(WindowsHost& host, const protocol::Request& request);
Result<protocol::Event> quarantine_workspace(WindowsHost& host, const protocol::Request& request);
Result<protocol::Event> stop_workspace(WindowsHost& host, const protocol::Request& request);
Result<protocol::Event> kill_workspace(WindowsHost& host, const protocol::Request& request);
Result<protocol::Event> delete_workspace(WindowsHost& host, const protocol::Request& request);
Result<protocol::Event> console_workspace(WindowsHost& host, const protocol::Request& request);

}  // namespace microagent::windows_hyperv
