#include "backends/linux_kvm/qemu_command.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace microagent::linux_kvm {
namespace {

QemuMachineSpec base_spec() {
  QemuMachineSpec spec;
  spec.accel = "tcg";
  spec.cpu = "max";
  spec.memory_mib = 512;
  spec.cpu_count = 2;
  spec.kernel = "/k/vmlinux";
  spec.initrd = "/k/initrd.cpio";
  spec.kernel_cmdline = "console=ttyS0";
  spec.serial_log = "/s/serial.log";
  spec.qmp_socket = "/s/qmp.sock";
  spec.vhost_user_vsock_socket = "/s/vhost.sock";
  return spec;
}

// The value following `flag`, for each occurrence.
std::vector<std::string> values_of(const std::vector<std::string>& argv, const std::string& flag) {
  std::vector<std::string> out;
  for (size_t i = 0; i + 1 < argv.size(); ++i) {
    if (argv[i] == flag) out.push_back(argv[i + 1]);
  }
  return out;
}

TEST(QemuArgv, GoldenForVhostUserVsock) {
  const std::vector<std::string> expected{
      "qemu-system-x86_64", "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
      "-M", "microvm,memory-backend=mem", "-accel", "tcg", "-cpu", "max", "-m", "512M", "-smp", "2",
      "-object", "memory-backend-memfd,id=mem,size=512M,share=on",
      "-global", "virtio-mmio.force-legacy=false",
      "-kernel", "/k/vmlinux", "-initrd", "/k/initrd.cpio", "-append", "console=ttyS0",
      "-chardev", "file,id=serial0,path=/s/serial.log,append=on", "-serial", "chardev:serial0",
      "-qmp", "unix:/s/qmp.sock,server=on,wait=off",
      "-chardev", "socket,id=vsock0,path=/s/vhost.sock", "-device", "vhost-user-vsock-device,chardev=vsock0"};
  EXPECT_EQ(build_qemu_argv(base_spec()), expected);
}

TEST(QemuArgv, KernelVhostVsockNeedsNoSharedMemory) {
  auto spec = base_spec();
  spec.vhost_user_vsock_socket.clear();
  spec.vhost_vsock_cid = 7;
  auto argv = build_qemu_argv(spec);
  EXPECT_EQ(values_of(argv, "-M"), std::vector<std::string>{"microvm"});
  EXPECT_TRUE(values_of(argv, "-object").empty());
  EXPECT_EQ(values_of(argv, "-device"), std::vector<std::string>{"vhost-vsock-device,guest-cid=7"});
}

TEST(QemuArgv, KvmUsesHostCpu) {
  auto spec = base_spec();
  spec.accel = "kvm";
  spec.cpu = "host";
  auto argv = build_qemu_argv(spec);
  EXPECT_EQ(values_of(argv, "-accel"), std::vector<std::string>{"kvm"});
  EXPECT_EQ(values_of(argv, "-cpu"), std::vector<std::string>{"host"});
}

TEST(QemuArgv, DisksBecomeVirtioBlkInOrder) {
  auto spec = base_spec();
  spec.disks = {{"/w/root.qcow2", "qcow2", false}, {"/w/data.img", "raw", true}};
  auto argv = build_qemu_argv(spec);
  EXPECT_EQ(values_of(argv, "-drive"),
            (std::vector<std::string>{"id=disk0,file=/w/root.qcow2,format=qcow2,if=none",
                                      "id=disk1,file=/w/data.img,format=raw,if=none,readonly=on"}));
  auto devices = values_of(argv, "-device");
  EXPECT_NE(std::find(devices.begin(), devices.end(), "virtio-blk-device,drive=disk1"), devices.end());
}

TEST(QemuArgv, SerialSocketTakesConsoleInputAndKeepsTheLog) {
  auto spec = base_spec();
  spec.serial_socket = "/s/serial.in";
  auto chardevs = values_of(build_qemu_argv(spec), "-chardev");
  EXPECT_EQ(chardevs.front(), "socket,id=serial0,path=/s/serial.in,server=on,wait=off,logfile=/s/serial.log,logappend=on");
}

TEST(KernelCmdline, CarriesTscAndConfig) {
  EXPECT_EQ(build_kernel_cmdline({2100000, true, "microagent.config=abc"}),
            "console=ttyS0 panic=-1 pci=off reboot=t quiet tsc_early_khz=2100000 microagent.config=abc");
  EXPECT_EQ(build_kernel_cmdline({std::nullopt, false, ""}), "console=ttyS0 panic=-1 pci=off reboot=t");
}

// A comma in a path would start a new QEMU option ("x.img,snapshot=on" opens
// x.img with snapshot on): every path inside an option list is doubled ",,".
TEST(QemuArgv, CommasInPathsAreEscapedInEveryOptionList) {
  auto spec = base_spec();
  spec.serial_log = "/s,x=y/serial.log";
  spec.qmp_socket = "/s,x=y/qmp.sock";
  spec.vhost_user_vsock_socket = "/s,x=y/vhost.sock";
  spec.disks = {{"/d/x.img,snapshot=on", "raw", false}};
  spec.nic = QemuNic{};
  spec.nic->kind = "passt";
  spec.nic->passt_socket = "/s,x=y/passt.sock";
  const auto argv = build_qemu_argv(spec);
  EXPECT_EQ(values_of(argv, "-drive").at(0), "id=disk0,file=/d/x.img,,snapshot=on,format=raw,if=none");
  EXPECT_EQ(values_of(argv, "-qmp").at(0), "unix:/s,,x=y/qmp.sock,server=on,wait=off");
  EXPECT_EQ(values_of(argv, "-netdev").at(0), "stream,id=net0,server=off,addr.type=unix,addr.path=/s,,x=y/passt.sock");
  const auto chardevs = values_of(argv, "-chardev");
  EXPECT_EQ(chardevs.at(0), "file,id=serial0,path=/s,,x=y/serial.log,append=on");
  EXPECT_EQ(chardevs.at(1), "socket,id=vsock0,path=/s,,x=y/vhost.sock");
}

}  // namespace
}  // namespace microagent::linux_kvm
