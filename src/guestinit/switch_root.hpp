#pragma once
// Leaves the initramfs for the root disk without exec'ing anything: guest init
// keeps running as PID 1 (its code pages stay mapped from the freed initramfs),
// so every service it starts afterwards sees the image's filesystem as "/".
#include <string>

#include "common/error.hpp"

namespace microagent::guestinit {

// Moves /dev, /proc, /sys, /run and /tmp under `new_root` (a mounted root
// disk), deletes the initramfs's files to give its memory back (as
// switch_root(8) does), then makes `new_root` the root and the cwd.
Result<void> switch_root(const std::string& new_root);

}  // namespace microagent::guestinit
