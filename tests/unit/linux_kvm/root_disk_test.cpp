// The copy-on-write root overlay and the workspace manifest, against real
// files and the real qemu-img.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "backends/linux_kvm/root_overlay.hpp"
#include "backends/linux_kvm/workspace_manifest.hpp"
#include "common/sha256.hpp"

namespace microagent::linux_kvm {
namespace {

namespace fs = std::filesystem;

class RootDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("root-disk-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    base_ = dir_ / "base.ext4";
    write(base_, std::string(1 << 20, 'b'));
    write(dir_ / "vmlinux", "kernel");
    write(dir_ / "initrd", "initrd");
  }
  void TearDown() override { fs::remove_all(dir_); }
  static void write(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }
  ManifestInputs inputs() const {
    return ManifestInputs{dir_ / "hash-cache", protocol::ImageRef{"tiny:1", "sha256:" + std::string(64, 'a')},
                          dir_ / "vmlinux", dir_ / "initrd", base_, dir_ / "ws" / "rootfs.qcow2", {}, {}};
  }
  fs::path dir_, base_;
};

TEST_F(RootDiskTest, OverlayIsBackedByTheAbsoluteBaseAndLeavesItAlone) {
  const std::string before = sha256_file(base_).value();
  ASSERT_TRUE(ensure_root_overlay(base_, dir_ / "ws" / "rootfs.qcow2", dir_ / "templates"));
  auto backing = overlay_backing_file(dir_ / "ws" / "rootfs.qcow2");
  ASSERT_TRUE(backing) << backing.error().message;
  EXPECT_EQ(*backing, base_);
  EXPECT_LT(fs::file_size(dir_ / "ws" / "rootfs.qcow2"), 1u << 20);
  EXPECT_EQ(sha256_file(base_).value(), before);
  // A second workspace copies the same template; an existing overlay is kept as it is.
  ASSERT_TRUE(ensure_root_overlay(base_, dir_ / "ws2" / "rootfs.qcow2", dir_ / "templates"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_ / "templates"), fs::directory_iterator()), 1);
  ASSERT_TRUE(ensure_root_overlay(base_, dir_ / "ws" / "rootfs.qcow2", dir_ / "templates"));
}

TEST_F(RootDiskTest, OverlayOfAnotherBaseIsAConflictAndAMissingBaseNotFound) {
  ASSERT_TRUE(ensure_root_overlay(base_, dir_ / "ws" / "rootfs.qcow2", dir_ / "templates"));
  write(dir_ / "other.ext4", "other");
  auto other = ensure_root_overlay(dir_ / "other.ext4", dir_ / "ws" / "rootfs.qcow2", dir_ / "templates");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::conflict);
  auto missing = ensure_root_overlay(dir_ / "nope.ext4", dir_ / "ws3" / "rootfs.qcow2", dir_ / "templates");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::not_found);
  EXPECT_FALSE(fs::exists(dir_ / "ws3" / "rootfs.qcow2"));
}

TEST_F(RootDiskTest, ManifestRecordsHashesAndVerifyFindsDivergence) {
  auto manifest = write_workspace_manifest(dir_ / "manifest.json", inputs());
  ASSERT_TRUE(manifest) << manifest.error().message;
  EXPECT_EQ((*manifest)["image"]["digest"], "sha256:" + std::string(64, 'a'));
  EXPECT_EQ((*manifest)["rootfs"]["sha256"], *sha256_file(base_));
  EXPECT_EQ((*manifest)["kernel"]["sha256"], sha256_hex("kernel"));
  EXPECT_FALSE(manifest->contains("guestinit"));

  auto clean = verify_workspace_manifest(dir_ / "manifest.json");
  ASSERT_TRUE(clean);
  EXPECT_TRUE((*clean)["verified"].get<bool>());
  EXPECT_TRUE((*clean)["divergences"].empty());

  write(dir_ / "initrd", "swapped");
  fs::remove(dir_ / "vmlinux");
  auto diverged = verify_workspace_manifest(dir_ / "manifest.json");
  ASSERT_TRUE(diverged);
  EXPECT_FALSE((*diverged)["verified"].get<bool>());
  ASSERT_EQ((*diverged)["divergences"].size(), 2u);
  EXPECT_EQ((*diverged)["divergences"][0]["item"], "kernel");
  EXPECT_NE((*diverged)["divergences"][0]["actual"].get<std::string>().find("unreadable"), std::string::npos);
  EXPECT_EQ((*diverged)["divergences"][1]["item"], "initrd");
}

TEST_F(RootDiskTest, AChangedBaseRefusesTheNextManifestEvenThroughTheHashCache) {
  ASSERT_TRUE(write_workspace_manifest(dir_ / "manifest.json", inputs()));
  // Same size, same mtime: only the ctime (which no user can set) tells.
  struct stat st{};
  ::stat(base_.c_str(), &st);
  {
    std::fstream f(base_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(10);
    f.put('X');
  }
  const timespec times[2] = {st.st_atim, st.st_mtim};
  ::utimensat(AT_FDCWD, base_.c_str(), times, 0);
  auto again = write_workspace_manifest(dir_ / "manifest.json", inputs());
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::conflict);
}

TEST_F(RootDiskTest, NoManifestIsNotFound) {
  auto missing = verify_workspace_manifest(dir_ / "none.json");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::not_found);
}

}  // namespace
}  // namespace microagent::linux_kvm
