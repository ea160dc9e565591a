// Resource asks checked against the host before anything starts (issue 13, item 6).
#include "backends/linux_kvm/host_fit.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>

namespace microagent::linux_kvm {
namespace {

class HostFit : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = "/tmp/ma-hostfit-XXXXXX";
    dir_ = ::mkdtemp(pattern.data());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path write(const std::string& name, const std::string& bytes) {
    std::ofstream(dir_ / name, std::ios::binary) << bytes;
    return dir_ / name;
  }
  std::filesystem::path dir_;
};

TEST_F(HostFit, MeasuresThisHost) {
  const auto host = measure_host_capacity();
  EXPECT_GT(host.memory_mib, 64);
  EXPECT_GE(host.online_cpus, 1);
}

TEST_F(HostFit, RefusesMoreMemoryOrCpusThanTheHostHas) {
  const HostCapacity host{24 * 1024, 2};
  protocol::WorkspaceConfig config;
  config.memory_mib = 1024 * 1024;
  auto too_big = check_fits_host(config, host);
  ASSERT_FALSE(too_big);
  EXPECT_EQ(too_big.error().code, ErrorCode::invalid_request);
  EXPECT_NE(too_big.error().message.find("memoryMiB"), std::string::npos);
  config.memory_mib = 256;
  config.cpu_count = 256;
  auto too_many = check_fits_host(config, host);
  ASSERT_FALSE(too_many);
  EXPECT_NE(too_many.error().message.find("cpuCount"), std::string::npos);
  config.cpu_count = 2;
  config.memory_mib = 24 * 1024;
  EXPECT_TRUE(check_fits_host(config, host));
}

TEST_F(HostFit, KernelMustBeAnElfOrABzImage) {
  EXPECT_TRUE(check_kernel_image(write("vmlinux", std::string("\x7f" "ELF\x02\x01\x01", 7) + std::string(100, '\0'))));
  std::string bz(0x300, '\0');
  bz.replace(0x202, 4, "HdrS");
  EXPECT_TRUE(check_kernel_image(write("bzImage", bz)));
  for (const auto& path : {std::filesystem::path("/etc/passwd"), write("text", "not really a kernel"), write("empty", "")}) {
    auto refused = check_kernel_image(path);
    ASSERT_FALSE(refused) << path;
    EXPECT_EQ(refused.error().code, ErrorCode::invalid_request) << path;
  }
  EXPECT_EQ(check_kernel_image(dir_ / "missing").error().code, ErrorCode::not_found);
  EXPECT_EQ(check_kernel_image(dir_).error().code, ErrorCode::not_found);
}

TEST_F(HostFit, InitrdMustBeAReadableFile) {
  EXPECT_TRUE(check_readable_file(write("initrd", "x"), "initrdPath"));
  EXPECT_FALSE(check_readable_file(dir_ / "missing", "initrdPath"));
  EXPECT_FALSE(check_readable_file("/dev/null", "initrdPath"));  // not a regular file
}

}  // namespace
}  // namespace microagent::linux_kvm
