#include "cli/disk_flags.hpp"

#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

namespace microagent::cli {
namespace {

class DiskFlags : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("disk-flags-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_ / "data");
    std::ofstream(dir_ / "disk.ext4") << "x";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(DiskFlags, DiskDefaultsToReadWrite) {
  auto disk = parse_disk_flag((dir_ / "disk.ext4").string() + ":/data");
  ASSERT_TRUE(disk) << disk.error().message;
  EXPECT_EQ(disk->path, dir_ / "disk.ext4");
  EXPECT_EQ(disk->mount, "/data");
  EXPECT_EQ(disk->mode, "rw");
}

TEST_F(DiskFlags, ModesAndNormalisedMounts) {
  auto ro = parse_disk_flag((dir_ / "disk.ext4").string() + ":/mnt/x/:ro");
  ASSERT_TRUE(ro);
  EXPECT_EQ(ro->mode, "ro");
  EXPECT_EQ(ro->mount, "/mnt/x");
  auto volume = parse_volume_flag((dir_ / "data").string() + ":/v:ro");
  ASSERT_TRUE(volume);
  EXPECT_EQ(volume->mode, "ro");
}

TEST_F(DiskFlags, BadShapesAreInvalidRequests) {
  const std::string disk = (dir_ / "disk.ext4").string();
  for (const std::string& text : std::vector<std::string>{disk, disk + ":relative", disk + ":/", disk + ":/d:rx", disk + ":/d:ro:x", ":/d"}) {
    auto parsed = parse_disk_flag(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_EQ(parsed.error().code, ErrorCode::invalid_request) << text;
  }
}

TEST_F(DiskFlags, MissingSourcesAreNotFound) {
  EXPECT_EQ(parse_disk_flag((dir_ / "nope.ext4").string() + ":/d").error().code, ErrorCode::not_found);
  EXPECT_EQ(parse_disk_flag((dir_ / "data").string() + ":/d").error().code, ErrorCode::not_found);  // a directory
  EXPECT_EQ(parse_volume_flag((dir_ / "disk.ext4").string() + ":/d").error().code, ErrorCode::not_found);  // a file
}

}  // namespace
}  // namespace microagent::cli
