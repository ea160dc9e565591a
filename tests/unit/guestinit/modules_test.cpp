#include "guestinit/modules.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>

namespace microagent::guestinit {
namespace {

TEST(ModulesOrder, ParsesPathsInOrderSkippingBlanksAndComments) {
  EXPECT_EQ(parse_modules_order("kernel/drivers/virtio/virtio_ring.ko\n\n# vsock\n  kernel/net/vmw_vsock/vsock.ko \r\n"
                                "kernel/last.ko"),
            (std::vector<std::string>{"kernel/drivers/virtio/virtio_ring.ko", "kernel/net/vmw_vsock/vsock.ko",
                                      "kernel/last.ko"}));
  EXPECT_TRUE(parse_modules_order("").empty());
}

TEST(ModulesOrder, MissingOrderFileLoadsNothing) {
  EXPECT_TRUE(load_kernel_modules("/no/such/modules.order", "/no/such/dir").empty());
}

TEST(ModulesOrder, MissingModuleIsReportedNotFatal) {
  const std::string order = ::testing::TempDir() + "/guestinit-modules-" + std::to_string(::getpid()) + ".order";
  std::ofstream(order) << "kernel/missing_a.ko\nkernel/missing_b.ko\n";
  const auto failures = load_kernel_modules(order, "/no/such/dir");
  ASSERT_EQ(failures.size(), 2u);
  EXPECT_NE(failures[0].find("missing_a.ko"), std::string::npos);
  EXPECT_NE(failures[1].find("missing_b.ko"), std::string::npos);
}

TEST(ModulesOrder, ModuleDirNamesTheRunningKernel) {
  EXPECT_TRUE(running_kernel_module_dir().starts_with("/lib/modules/"));
  EXPECT_GT(running_kernel_module_dir().size(), std::string("/lib/modules/").size());
}

}  // namespace
}  // namespace microagent::guestinit
