#pragma once
// The guest end of --publish and mediation, in one process forked from PID 1
// (in `run` guests and started workspaces alike):
// - --publish: listens on AF_VSOCK port HOSTPORT; each host connection is
//   relayed to 127.0.0.1:GUESTPORT in the guest;
// - mediation: listens on TCP 127.0.0.1:PORT in the guest and relays each
//   connection to the host's vsock port PORT (CID 2), so ordinary tools
//   (wget, nc) reach the mediation channel; AF_VSOCK clients connect directly.
// One forked child per connection, relaying with bounded buffers.
#include <sys/types.h>

#include "common/guest_wire.hpp"

namespace microagent::guestinit {

// Forks the service when the config has forwards or a mediation port; returns
// its pid, or -1 when there is nothing to serve or fork failed (logged).
pid_t start_port_forward_service(const GuestNetwork& network);

}  // namespace microagent::guestinit
