#include "backends/windows_hyperv/kernel_cmdline.hpp"

namespace microagent::windows_hyperv {

std::string hyperv_kernel_cmdline(std::string_view config_param) {
  // panic=-1 reboots at once and StopOnReset turns the reboot into the VM's end.
  std::string cmdline = "console=ttyS0 panic=-1 reboot=t quiet";
  if (!config_param.empty()) cmdline += " " + std::string(config_param);
  return cmdline;
}

}  // namespace microagent::windows_hyperv
