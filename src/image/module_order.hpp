#pragma once
// Load order for kernel modules from depmod's modules.dep, so the initramfs
// can insmod them one by one without modprobe.
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace microagent::image {

// DESIGN.md section 4: the drivers a Linux guest on QEMU `microvm` needs
// (virtio-mmio/pci transport, block, net, console, vsock), in a known-good order,
// then the ACPI power button (`button`: QMP system_powerdown arrives through
// microvm's ACPI GED as a "Power Button" input device) and `evdev`, which gives
// guest init /dev/input/event* to watch it on. Neither has dependencies.
inline const std::vector<std::string> kMicrovmModules = {
    "virtio_ring",   "virtio",         "virtio_mmio", "virtio_pci_modern_dev", "virtio_pci_legacy_dev",
    "virtio_pci",    "virtio_blk",     "failover",    "net_failover",          "virtio_net",
    "virtio_console", "vsock",         "vmw_vsock_virtio_transport_common",    "vmw_vsock_virtio_transport",
    "button",        "evdev",
};
// Hyper-V guests (VMBus, storage, network, hv_sock); their dependencies come from modules.dep.
inline const std::vector<std::string> kHypervModules = {"hv_vmbus", "hv_storvsc", "hv_netvsc", "hv_sock"};

// "kernel/drivers/net/virtio_net.ko" -> "virtio_net"; dashes become
// underscores as the kernel does (so "virtio-net" names the same module).
std::string module_name_from_path(std::string_view path);

class ModuleIndex {
 public:
  // modules.dep lines: "<path>.ko: <dep path> <dep path> ...".
  static Result<ModuleIndex> parse(std::string_view modules_dep);
  // modules.builtin: one path per line; built-in modules resolve to nothing.
  void add_builtin(std::string_view modules_builtin);

  // Relative .ko paths (as in modules.dep) so that every dependency comes
  // before its user, each once, in the order the wanted names first need
  // them. not_found names an unknown module.
  Result<std::vector<std::string>> load_order(const std::vector<std::string>& wanted) const;

  bool contains(std::string_view name) const;

 private:
  std::map<std::string, std::string, std::less<>> path_by_name_;
  std::map<std::string, std::vector<std::string>, std::less<>> deps_by_path_;
  std::set<std::string, std::less<>> builtin_;
};

}  // namespace microagent::image
