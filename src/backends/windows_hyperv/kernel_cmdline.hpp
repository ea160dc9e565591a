#pragma once
// The guest kernel command line on Hyper-V. COM1 is ttyS0 (the HCS named
// pipe); the Hyper-V drivers (hv_vmbus, hv_storvsc, hv_netvsc, hv_sock) are
// modules the initramfs loads in order (image/module_order.hpp
// kHypervModules), so nothing here names them. No tsc_early_khz: Hyper-V
// gives the guest a reference TSC page, the calibration hang is QEMU TCG's.
#include <string>
#include <string_view>

namespace microagent::windows_hyperv {

// `config_param` is guest_wire's "microagent.config=..." (may be empty).
std::string hyperv_kernel_cmdline(std::string_view config_param);

}  // namespace microagent::windows_hyperv
