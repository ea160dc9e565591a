#pragma once
// A monotonic clock for durations and deadlines (wall-clock stamps come from common/clock.hpp).
#include <cstdint>

namespace microagent::guestinit {

// Milliseconds on CLOCK_MONOTONIC: never jumps when the guest's wall clock is set.
std::uint64_t monotonic_ms();

}  // namespace microagent::guestinit
