// `microagent kernel export DEST`: the windows-hyperv kernel artifact built on
// Linux for a Windows host: the same vmlinux, and an initramfs carrying guest
// init and the Hyper-V modules (with their dependencies) instead of virtio's.
#include <gtest/gtest.h>

#include "common/sha256.hpp"
#include "e2e_support.hpp"

namespace microagent::e2e {
namespace {

TEST(KernelExport, WritesVmlinuxAndAHypervInitramfs) {
  ASSERT_TRUE(kernel_available());
  TempDir tmp;
  const auto dest = tmp.path / "windows-kernel";
  auto exported = run_cli(tmp.path / "state", {"--json", "kernel", "export", dest.string()});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  auto answer = nlohmann::json::parse(exported.out, nullptr, false);
  ASSERT_TRUE(answer.is_object()) << exported.out;
  EXPECT_EQ(answer["artifact"]["sha256"]["vmlinux"], sha256_file(dest / "vmlinux").value());
  EXPECT_EQ(answer["artifact"]["sha256"]["initrd.img"], sha256_file(dest / "initrd.img").value());

  auto shown = run_cli(tmp.path / "state", {"--json", "kernel", "show"});
  auto kernel = nlohmann::json::parse(shown.out, nullptr, false);
  ASSERT_TRUE(kernel.is_object()) << shown.out;
  EXPECT_EQ(kernel["kernel"]["sha256"]["vmlinux"], sha256_file(dest / "vmlinux").value());

  auto listing = run_command({"sh", "-c", "cpio -it < '" + (dest / "initrd.img").string() + "'"});
  ASSERT_TRUE(listing && listing->status.success());
  for (const char* wanted : {"init", "microagent/modules.order", "bin/busybox", "/hv_vmbus.ko", "/hv_storvsc.ko",
                             "/hv_netvsc.ko", "/hv_sock.ko"}) {
    EXPECT_NE(listing->out.find(wanted), std::string::npos) << wanted << " missing from\n" << listing->out;
  }
  EXPECT_EQ(listing->out.find("virtio_blk.ko"), std::string::npos) << "virtio modules have no place on Hyper-V";
  auto order = run_command({"sh", "-c", "cd '" + tmp.path.string() + "' && cpio -i --to-stdout microagent/modules.order < '" +
                                            (dest / "initrd.img").string() + "'"});
  ASSERT_TRUE(order && order->status.success());
  EXPECT_LT(order->out.find("hv_vmbus.ko"), order->out.find("hv_sock.ko")) << order->out;
}

}  // namespace
}  // namespace microagent::e2e
