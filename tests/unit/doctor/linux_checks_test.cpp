// Each linux-kvm doctor check against a fake root (backends/linux_kvm/doctor_checks.hpp).
#include <gtest/gtest.h>
#include <sys/statfs.h>

#include "backends/linux_kvm/doctor_checks.hpp"
#include "fake_host.hpp"

namespace microagent::linux_kvm {
namespace {

using doctor_testing::FakeHost;
using doctor_testing::find_check;
using protocol::CheckStatus;
using ::testing::HasSubstr;

KvmProbe probe_with(bool present, bool accessible, int api, bool vm, bool ring0, std::string detail) {
  KvmProbe probe;
  probe.device_present = present;
  probe.accessible = accessible;
  probe.api_version = api;
  probe.vm_created = vm;
  probe.ring0_ok = ring0;
  probe.detail = std::move(detail);
  return probe;
}

TEST(KvmChecks, NoDeviceWarnsAndPicksTcg) {
  FakeHost host;
  host.make_linux();
  const AccelChoice accel = probe_accel(host.context());
  EXPECT_FALSE(accel.probe.device_present);
  EXPECT_EQ(accel.accel, "tcg");
  EXPECT_THAT(accel.reason, HasSubstr("/dev/kvm does not exist"));
  EXPECT_EQ(check_kvm_device(accel.probe).status, CheckStatus::warn);
  EXPECT_EQ(check_kvm_api(accel.probe).status, CheckStatus::warn);
  EXPECT_EQ(check_kvm_probe(accel.probe).status, CheckStatus::warn);
  const auto chosen = check_accel(accel);
  EXPECT_EQ(chosen.status, CheckStatus::warn);
  EXPECT_THAT(chosen.detail, HasSubstr("using tcg"));
}

TEST(KvmChecks, RegularFileAsDeviceIsACleanCannotRun) {
  FakeHost host;
  host.make_linux();
  host.write("/dev/kvm", "not a device");
  const AccelChoice accel = probe_accel(host.context());
  EXPECT_TRUE(accel.probe.device_present);
  EXPECT_TRUE(accel.probe.accessible);
  EXPECT_FALSE(accel.probe.ring0_ok);
  EXPECT_EQ(accel.accel, "tcg");
  // The reason names the host path, not the fake root.
  EXPECT_THAT(accel.reason, HasSubstr("/dev/kvm"));
  EXPECT_EQ(accel.reason.find(host.root().string()), std::string::npos);
  EXPECT_EQ(check_kvm_device(accel.probe).status, CheckStatus::ok);
  const auto api = check_kvm_api(accel.probe);
  EXPECT_EQ(api.status, CheckStatus::warn);
  EXPECT_THAT(api.detail, HasSubstr("KVM_GET_API_VERSION"));
}

TEST(KvmChecks, InaccessibleDeviceSaysHowToGetAccess) {
  const auto check = check_kvm_device(probe_with(true, false, 0, false, false, "Permission denied"));
  EXPECT_EQ(check.status, CheckStatus::warn);
  EXPECT_THAT(check.fix, HasSubstr("kvm group"));
}

TEST(KvmChecks, Ring0FailureIsReportedAsCannotRunAKernel) {
  const KvmProbe probe = probe_with(true, true, 12, true, false, "KVM internal error after cmpxchg16b");
  const auto check = check_kvm_probe(probe);
  EXPECT_EQ(check.status, CheckStatus::warn);
  EXPECT_THAT(check.detail, HasSubstr("cannot run a kernel"));
  EXPECT_THAT(check.detail, HasSubstr("KVM internal error"));
  EXPECT_EQ(check_kvm_api(probe).status, CheckStatus::ok);
  const AccelChoice accel = decide_accel(probe, "");
  EXPECT_EQ(accel.accel, "tcg");
  EXPECT_EQ(check_accel(accel).status, CheckStatus::warn);
}

TEST(KvmChecks, WorkingKvmIsChosen) {
  const KvmProbe probe = probe_with(true, true, 12, true, true, "ring-0 probe ran in 0.2 ms");
  EXPECT_EQ(check_kvm_probe(probe).status, CheckStatus::ok);
  const AccelChoice accel = decide_accel(probe, "");
  EXPECT_EQ(accel.accel, "kvm");
  const auto check = check_accel(accel);
  EXPECT_EQ(check.status, CheckStatus::ok);
  EXPECT_TRUE(check.fix.empty());
}

TEST(QemuChecks, AllPresent) {
  FakeHost host;
  const auto checks = check_qemu(host.context());
  ASSERT_EQ(checks.size(), 3u);
  EXPECT_EQ(find_check(checks, "qemu.binary").status, CheckStatus::ok);
  EXPECT_THAT(find_check(checks, "qemu.binary").detail, HasSubstr("QEMU 7.2.22"));
  EXPECT_EQ(find_check(checks, "qemu.microvm").status, CheckStatus::ok);
  EXPECT_EQ(find_check(checks, "qemu.devices").status, CheckStatus::ok);
}

TEST(QemuChecks, MissingBinaryFailsEverything) {
  FakeHost host;
  host.programs.erase("qemu-system-x86_64");
  for (const auto& check : check_qemu(host.context())) {
    EXPECT_EQ(check.status, CheckStatus::fail) << check.name;
    EXPECT_THAT(check.fix, HasSubstr("apt-get install qemu-system-x86"));
  }
  EXPECT_TRUE(host.ran.empty());
}

TEST(QemuChecks, NoMicrovmMachine) {
  FakeHost host;
  host.qemu_output["-machine"] = "Supported machines are:\npc                   Standard PC\nmicrovm-like  x\n";
  const auto checks = check_qemu(host.context());
  EXPECT_EQ(find_check(checks, "qemu.microvm").status, CheckStatus::fail);
}

TEST(QemuChecks, MissingDeviceIsNamed) {
  FakeHost host;
  host.qemu_output["-device"] = "name \"virtio-blk-device\", bus virtio-bus\nname \"vhost-user-vsock-pci\", bus PCI\n";
  const auto check = find_check(check_qemu(host.context()), "qemu.devices");
  EXPECT_EQ(check.status, CheckStatus::fail);
  EXPECT_THAT(check.detail, HasSubstr("vhost-user-vsock-device"));
}

TEST(QemuChecks, HelpThatFailsIsAFailure) {
  FakeHost host;
  host.qemu_output.erase("-device");
  EXPECT_EQ(find_check(check_qemu(host.context()), "qemu.devices").status, CheckStatus::fail);
}

TEST(QemuChecks, ParsesVersion) {
  EXPECT_EQ(parse_qemu_version("QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7)\n"), "7.2.22");
  EXPECT_EQ(parse_qemu_version("QEMU emulator version 8.1.0\n"), "8.1.0");
  EXPECT_EQ(parse_qemu_version("garbage"), "");
}

TEST(VsockCheck, KernelVhostVsockWhenPresent) {
  FakeHost host;
  host.write("/dev/vhost-vsock", "");
  EXPECT_THAT(check_vsock(host.context()).detail, HasSubstr("vhost-vsock"));
  EXPECT_EQ(check_vsock(host.context()).detail.find("vhost-user"), std::string::npos);
}

TEST(VsockCheck, OwnVhostUserDeviceOtherwise) {
  FakeHost host;
  const auto check = check_vsock(host.context());
  EXPECT_EQ(check.status, CheckStatus::ok);
  EXPECT_THAT(check.detail, HasSubstr("vhost-user (microagent)"));
}

TEST(NetworkChecks, Tun) {
  FakeHost host;
  EXPECT_EQ(check_tun(host.context()).status, CheckStatus::warn);
  EXPECT_EQ(check_tun(host.context()).fix, "modprobe tun");
  host.write("/dev/net/tun", "");
  EXPECT_EQ(check_tun(host.context()).status, CheckStatus::ok);
}

TEST(NetworkChecks, PasstAndNft) {
  FakeHost host;
  EXPECT_EQ(check_passt(host.context()).status, CheckStatus::ok);
  EXPECT_EQ(check_nft(host.context()).status, CheckStatus::ok);
  host.programs.erase("passt");
  host.programs.erase("nft");
  EXPECT_EQ(check_passt(host.context()).status, CheckStatus::warn);
  EXPECT_THAT(check_passt(host.context()).fix, HasSubstr("./scripts/fetch-passt"));
  EXPECT_EQ(check_nft(host.context()).status, CheckStatus::warn);
  host.write("/usr/sbin/nft", "");  // off PATH, found in sbin
  EXPECT_EQ(check_nft(host.context()).status, CheckStatus::ok);
}

TEST(NetworkChecks, Debian12PasstIsCalledOutForItsHalfCloseHang) {
  FakeHost host;
  host.passt_version = "passt unknown version\nCopyright Red Hat\n";
  auto check = check_passt(host.context());
  EXPECT_EQ(check.status, CheckStatus::warn);
  EXPECT_THAT(check.detail, HasSubstr("/usr/bin/passt (passt unknown version, from PATH) predates 2025-05-03"));
  EXPECT_THAT(check.detail, HasSubstr("half-closes"));
  EXPECT_THAT(check.fix, HasSubstr("./scripts/fetch-passt"));
  host.passt_version = "passt 0.0~git20230309.7c7625d-1\n";
  EXPECT_EQ(check_passt(host.context()).status, CheckStatus::warn);
}

TEST(NetworkChecks, TheBuiltPasstWinsOverPathAndTheOverrideOverBoth) {
  FakeHost host;
  host.passt_version = "passt unknown version\n";
  auto context = host.context();
  host.write_real(context.built_passt, "#!/bin/sh\n");
  std::filesystem::permissions(context.built_passt, std::filesystem::perms::owner_all);
  auto check = check_passt(context);
  EXPECT_EQ(check.status, CheckStatus::ok) << check.detail;
  EXPECT_THAT(check.detail, HasSubstr(context.built_passt.string()));
  context.passt_override = "/opt/passt-head/passt";
  host.passt_version = "passt 2025_09_19.623dbf6\n";
  check = check_passt(context);
  EXPECT_EQ(check.status, CheckStatus::ok) << check.detail;
  EXPECT_THAT(check.detail, HasSubstr("/opt/passt-head/passt (from MICROAGENT_PASST)"));
}

TEST(NetworkChecks, UserNamespaces) {
  FakeHost host;
  EXPECT_EQ(check_userns(host.context()).status, CheckStatus::warn);  // unreadable
  host.write("/proc/sys/user/max_user_namespaces", "0\n");
  EXPECT_EQ(check_userns(host.context()).status, CheckStatus::warn);
  EXPECT_THAT(check_userns(host.context()).fix, HasSubstr("max_user_namespaces"));
  host.write("/proc/sys/user/max_user_namespaces", "15000\n");
  EXPECT_EQ(check_userns(host.context()).status, CheckStatus::ok);
}

TEST(NetworkChecks, IpForwardOnlyWarns) {
  FakeHost host;
  host.write("/proc/sys/net/ipv4/ip_forward", "0\n");
  const auto off = check_ip_forward(host.context());
  EXPECT_EQ(off.status, CheckStatus::warn);
  EXPECT_THAT(off.detail, HasSubstr("nat"));
  host.write("/proc/sys/net/ipv4/ip_forward", "1\n");
  EXPECT_EQ(check_ip_forward(host.context()).status, CheckStatus::ok);
}

TEST(KernelCheck, MissingArtifactSaysFetch) {
  FakeHost host;
  const auto check = check_kernel_artifact(host.context());
  EXPECT_EQ(check.status, CheckStatus::fail);
  EXPECT_EQ(check.fix, "microagent kernel fetch");
}

TEST(KernelCheck, PresentArtifactShowsItsSha256) {
  FakeHost host;
  host.make_kernel_artifact();
  const auto check = check_kernel_artifact(host.context());
  EXPECT_EQ(check.status, CheckStatus::ok) << check.detail;
  EXPECT_THAT(check.detail, HasSubstr("6.1.0-99-cloud-amd64"));
  EXPECT_THAT(check.detail, HasSubstr(sha256_hex("vmlinux bytes")));
}

TEST(KernelCheck, TamperedArtifactFails) {
  FakeHost host;
  const auto cache = host.make_kernel_artifact();
  host.write_real(cache / "6.1.0-99-cloud-amd64" / "vmlinux", "other bytes");
  const auto check = check_kernel_artifact(host.context());
  EXPECT_EQ(check.status, CheckStatus::fail);
  EXPECT_THAT(check.fix, HasSubstr("--force"));
}

TEST(GuestInitCheck, PresentOrNot) {
  FakeHost host;
  EXPECT_EQ(check_guest_init(host.context()).status, CheckStatus::fail);
  host.write_real(host.home() / "bin" / "microagent-guestinit-x86_64", "ELF");
  EXPECT_EQ(check_guest_init(host.context()).status, CheckStatus::ok);
}

TEST(StateDirCheck, WritableWithFilesystemAndReflinkAnswer) {
  FakeHost host;
  const auto checks = check_state_dir(host.context("/var/lib/microagent"));
  ASSERT_EQ(checks.size(), 2u);
  const auto dir = find_check(checks, "statedir");
  EXPECT_EQ(dir.status, CheckStatus::ok) << dir.detail;
  EXPECT_THAT(dir.detail, HasSubstr("/var/lib/microagent is writable"));
  EXPECT_TRUE(std::filesystem::is_directory(host.at("/var/lib/microagent")));
  const auto reflink = find_check(checks, "statedir.reflink");
  EXPECT_EQ(reflink.status, CheckStatus::ok);
  // /tmp here is ext4 (DESIGN.md section 5): no FICLONE, so overlays.
  struct statfs fs {};
  ASSERT_EQ(::statfs(host.root().c_str(), &fs), 0);
  if (filesystem_name(static_cast<unsigned long>(fs.f_type)) == "ext4") {
    EXPECT_THAT(reflink.detail, HasSubstr("copy-on-write through qcow2 overlays"));
    EXPECT_THAT(dir.detail, HasSubstr("ext4"));
  }
  // No probe files left behind.
  EXPECT_TRUE(std::filesystem::is_empty(host.at("/var/lib/microagent")));
}

TEST(StateDirCheck, UncreatableDirFails) {
  FakeHost host;
  host.write("/var/lib/file", "a file, not a directory");
  const auto checks = check_state_dir(host.context("/var/lib/file/state"));
  EXPECT_EQ(find_check(checks, "statedir").status, CheckStatus::fail);
  EXPECT_FALSE(find_check(checks, "statedir").fix.empty());
}

TEST(StateDirCheck, FilesystemNames) {
  EXPECT_EQ(filesystem_name(0xEF53), "ext4");
  EXPECT_EQ(filesystem_name(0x58465342), "xfs");
  EXPECT_EQ(filesystem_name(0x01021997), "9p");
  EXPECT_EQ(filesystem_name(0x1234), "0x1234");
}

TEST(ConsoleCheck, NeedsFileAndSocketChardevs) {
  FakeHost host;
  EXPECT_EQ(check_console(host.context()).status, CheckStatus::ok);
  host.qemu_output["-chardev"] = "Available chardev backend types: \n  stdio\n  socket\n";
  EXPECT_EQ(check_console(host.context()).status, CheckStatus::warn);
}

TEST(LinuxDoctor, HealthyFakeHostRunsWithTcgAndSaysSoInOneLine) {
  FakeHost host;
  host.make_linux();
  host.make_kernel_artifact();
  host.write_real(host.home() / "bin" / "microagent-guestinit-x86_64", "ELF");
  const LinuxDoctor doctor = run_linux_doctor(host.context(), "linux-kvm");
  for (const auto& check : doctor.report.checks) {
    EXPECT_NE(check.status, CheckStatus::fail) << check.name << ": " << check.detail;
  }
  EXPECT_TRUE(doctor.report.can_run);
  EXPECT_EQ(doctor.report.accel, "tcg");
  EXPECT_EQ(doctor.report.backend, "linux-kvm");
  EXPECT_THAT(doctor.report.summary, HasSubstr("will run guests with linux-kvm using tcg: "));
  EXPECT_EQ(doctor.report.summary.find('\n'), std::string::npos);
  for (const char* name : {"kvm.device", "kvm.api", "kvm.probe", "accel", "qemu.binary", "qemu.microvm",
                           "qemu.devices", "vsock", "net.tun", "net.passt", "net.nft", "userns", "net.ip_forward",
                           "kernel", "guestinit", "statedir", "statedir.reflink", "console"}) {
    find_check(doctor.report.checks, name);
  }
}

TEST(LinuxDoctor, AFailedCheckFailsTheVerdictAndIsNamed) {
  FakeHost host;
  host.make_linux();
  const LinuxDoctor doctor = run_linux_doctor(host.context(), "linux-kvm");
  EXPECT_FALSE(doctor.report.can_run);
  EXPECT_EQ(doctor.report.accel, "");
  EXPECT_THAT(doctor.report.summary, HasSubstr("cannot run guests with linux-kvm"));
  EXPECT_THAT(doctor.report.summary, HasSubstr("kernel: "));
  EXPECT_THAT(doctor.report.summary, HasSubstr("guestinit: "));
}

}  // namespace
}  // namespace microagent::linux_kvm
