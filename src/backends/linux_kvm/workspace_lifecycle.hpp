#pragma once
// The detached lifecycle of a linux-kvm workspace (DESIGN.md section 2):
// prepare, start, inspect, halt, quarantine, stop, kill, delete, console.
// Allowed transitions are listed in docs/lifecycle.md.
#include "common/error.hpp"
#include "protocol/types.hpp"

namespace microagent::linux_kvm {

Result<protocol::Event> prepare_workspace(const protocol::Request& request);
Result<protocol::Event> start_workspace(const protocol::Request& request);
Result<protocol::Event> inspect_workspace(const protocol::Request& request);
Result<protocol::Event> halt_workspace(const protocol::Request& request);
Result<protocol::Event> stop_workspace(const protocol::Request& request);
Result<protocol::Event> kill_workspace(const protocol::Request& request);
Result<protocol::Event> quarantine_workspace(const protocol::Request& request);
Result<protocol::Event> delete_workspace(const protocol::Request& request);
Result<protocol::Event> console_workspace(const protocol::Request& request);

}  // namespace microagent::linux_kvm
