#pragma once
// `run` on linux-kvm: the supervisor itself owns the VM for the whole run (no
// shim), boots it with the same launch spec as `start`, waits for the guest's
// result (or the timeout) and records how the run ended.
#include "common/error.hpp"
#include "protocol/types.hpp"

namespace microagent::linux_kvm {

Result<protocol::Event> foreground_run(const protocol::Request& request);

}  // namespace microagent::linux_kvm
