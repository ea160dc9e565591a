#pragma once
// This Linux host's capacity, for supervisor/host_fit.hpp's checks.
#include "supervisor/host_fit.hpp"

namespace microagent::linux_kvm {

using supervisor::check_fits_host;
using supervisor::check_kernel_image;
using supervisor::check_readable_file;
using supervisor::HostCapacity;

// MemTotal from /proc/meminfo and the online CPUs.
HostCapacity measure_host_capacity();

}  // namespace microagent::linux_kvm
