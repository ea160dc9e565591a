#include "backends/linux_kvm/qemu_command.hpp"

#include <fmt/core.h>

namespace microagent::linux_kvm {
namespace {

// A value inside a QEMU option list ("a=x,b=y"): QEMU reads ",," as a literal
// comma, so a path such as "/tmp/a,x=y" cannot add an option of its own.
std::string opt(const std::filesystem::path& value) {
  std::string out;
  for (char c : value.string()) {
    out += c;
    if (c == ',') out += ',';
  }
  return out;
}

}  // namespace

std::vector<std::string> build_qemu_argv(const QemuMachineSpec& spec) {
  const bool vhost_user = !spec.vhost_user_vsock_socket.empty();
  std::vector<std::string> argv{spec.qemu_binary, "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot"};
  // microvm: no PCI, no firmware, virtio-mmio devices; kernel booted directly (PVH for an ELF vmlinux).
  std::string machine = "microvm";
  if (vhost_user) machine += ",memory-backend=mem";
  argv.insert(argv.end(), {"-M", machine, "-accel", spec.accel, "-cpu", spec.cpu});
  argv.insert(argv.end(), {"-m", fmt::format("{}M", spec.memory_mib), "-smp", std::to_string(spec.cpu_count)});
  if (vhost_user) {
    // A vhost-user back end reads guest RAM directly: it must be a shared memfd.
    argv.insert(argv.end(), {"-object", fmt::format("memory-backend-memfd,id=mem,size={}M,share=on", spec.memory_mib)});
  }
  // microvm's virtio-mmio is legacy by default; vhost-user back ends refuse legacy devices.
  argv.insert(argv.end(), {"-global", "virtio-mmio.force-legacy=false"});
  argv.insert(argv.end(), {"-kernel", spec.kernel.string(), "-initrd", spec.initrd.string(), "-append",
                           spec.kernel_cmdline});
  if (spec.serial_socket.empty()) {
    argv.insert(argv.end(), {"-chardev", fmt::format("file,id=serial0,path={},append=on", opt(spec.serial_log))});
  } else {
    argv.insert(argv.end(), {"-chardev", fmt::format("socket,id=serial0,path={},server=on,wait=off,logfile={},logappend=on",
                                                     opt(spec.serial_socket), opt(spec.serial_log))});
  }
  argv.insert(argv.end(), {"-serial", "chardev:serial0"});
  if (!spec.qmp_socket.empty()) {
    argv.insert(argv.end(), {"-qmp", fmt::format("unix:{},server=on,wait=off", opt(spec.qmp_socket))});
  }
  if (vhost_user) {
    argv.insert(argv.end(), {"-chardev", fmt::format("socket,id=vsock0,path={}", opt(spec.vhost_user_vsock_socket)),
                             "-device", "vhost-user-vsock-device,chardev=vsock0"});
  } else if (spec.vhost_vsock_cid) {
    argv.insert(argv.end(), {"-device", fmt::format("vhost-vsock-device,guest-cid={}", *spec.vhost_vsock_cid)});
  }
  for (std::size_t i = 0; i < spec.disks.size(); ++i) {
    const auto& disk = spec.disks[i];
    argv.insert(argv.end(), {"-drive", fmt::format("id=disk{},file={},format={},if=none{}", i,
                                                   opt(disk.path), opt(disk.format), disk.read_only ? ",readonly=on" : ""),
                             "-device", fmt::format("virtio-blk-device,drive=disk{}", i)});
  }
  if (spec.nic) {
    const auto& nic = *spec.nic;
    if (nic.kind == "passt") {
      argv.insert(argv.end(), {"-netdev", fmt::format("stream,id=net0,server=off,addr.type=unix,addr.path={}",
                                                      opt(nic.passt_socket))});
    } else {
      argv.insert(argv.end(), {"-netdev", fmt::format("tap,id=net0,ifname={},script=no,downscript=no", opt(nic.tap))});
    }
    std::string device = "virtio-net-device,netdev=net0";
    if (!nic.mac.empty()) device += ",mac=" + opt(nic.mac);
    argv.insert(argv.end(), {"-device", device});
  }
  argv.insert(argv.end(), spec.extra_args.begin(), spec.extra_args.end());
  return argv;
}

std::string build_kernel_cmdline(const KernelCmdlineSpec& spec) {
  // panic=-1: a guest panic reboots at once, and -no-reboot turns that into QEMU exiting.
  // pci=off: microvm has no PCI bus; probing it only costs time and a warning.
  std::string cmdline = "console=ttyS0 panic=-1 pci=off reboot=t";
  if (spec.quiet) cmdline += " quiet";
  if (spec.tsc_khz) cmdline += fmt::format(" tsc_early_khz={}", *spec.tsc_khz);
  if (!spec.config_param.empty()) cmdline += " " + spec.config_param;
  return cmdline;
}

}  // namespace microagent::linux_kvm
