#pragma once
// Copies bytes both ways between two connected stream sockets until both
// directions are done: the building block of --publish and mediation, on the
// host (TCP <-> hybrid vsock Unix socket) and in the guest (AF_VSOCK <-> TCP).
// Bounded: one fixed buffer per direction, so a slow reader stalls its writer
// instead of growing memory. Half-close carries over: EOF read on one side
// becomes shutdown(SHUT_WR) on the other once everything before it was written.
// Depends on nothing but POSIX: the static guest init uses it too.
#include <cstddef>
#include <cstdint>

namespace microagent {

struct RelayStats {
  std::uint64_t a_to_b = 0;  // bytes written to b that came from a
  std::uint64_t b_to_a = 0;
  bool stopped = false;      // stop_fd became readable first
  int error = 0;             // errno of the first failure (0: both directions ended cleanly)
};

inline constexpr std::size_t kRelayBufferBytes = 64 * 1024;

// Blocks until both directions are over, or `stop_fd` (>= 0) becomes readable
// (then both sockets are shut down). A direction is over when its EOF was
// passed on after its bytes, when its source failed (a reset: what was read
// still goes through, then EOF), or when its receiver is gone (bytes dropped).
// The sockets are switched to non-blocking; the caller still owns and closes them.
RelayStats relay_streams(int a, int b, int stop_fd = -1);

}  // namespace microagent
