#pragma once
// POSIX supervisors only: whoever runs a VM takes termination signals
// synchronously (signalfd), so it can tear the VM down and record the final
// event.

namespace microagent::supervisor {

// Blocks SIGINT, SIGTERM and SIGHUP (read later through a signalfd) and
// ignores SIGPIPE.
void block_termination_signals();

}  // namespace microagent::supervisor
