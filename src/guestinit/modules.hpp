#pragma once
// Kernel modules the guest needs before it can talk to the host (virtio,
// vsock; hv_* on Hyper-V). Debian's cloud kernel builds them as modules and the
// initramfs ships them uncompressed, in the load order of modules.order.
#include <string>
#include <string_view>
#include <vector>

namespace microagent::guestinit {

// One path per line relative to /lib/modules/<release>/; blank lines and '#' comments skipped.
std::vector<std::string> parse_modules_order(std::string_view text);

// Loads each listed module from module_dir with finit_module(2), in order.
// Returns one message per module that failed (already loaded is not a failure).
// A missing order file means there is nothing to load.
std::vector<std::string> load_kernel_modules(const std::string& order_file, const std::string& module_dir);

// "/lib/modules/<uname -r>".
std::string running_kernel_module_dir();

}  // namespace microagent::guestinit
