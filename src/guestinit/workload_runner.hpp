#pragma once
// Runs the workload once and captures what a user sees: exit status, stdout and
// stderr (bounded), and why it could not run. Works the same as PID 1 in a guest
// and as an ordinary process on the host (tests, --run-config).
#include <cstdint>

#include "common/guest_wire.hpp"

namespace microagent::guestinit {

struct RunOptions {
  // PID 1 inherits every orphan in the guest and must reap them, or they stay
  // zombies forever; an ordinary process waits for its own child only.
  bool reap_orphans = false;
  // After the workload exits, background descendants may still hold its
  // stdout/stderr open; read on for at most this long, then stop.
  std::uint64_t drain_after_exit_ms = 1000;
};

// Fills exit_code or signal, the outputs, error, started_at, finished_at and
// duration_ms. Never throws for the workload's sake; an exec failure is a result
// with `error` and exit code 127 (not found) or 126 (not executable, bad workdir).
GuestResult run_workload(const GuestConfig& config, const RunOptions& options = {});

}  // namespace microagent::guestinit
