// The root ext4 of an image: reproducible bytes, guest init injected, mount
// points added, cached per (image, guest init).
#include <gtest/gtest.h>

#include "common/sha256.hpp"
#include "image/store/image_import.hpp"
#include "image/store/root_disk.hpp"
#include "import_test_util.hpp"

namespace microagent::image {
namespace {

using namespace testing;

class RootDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!find_program("mke2fs") || !find_program("debugfs")) GTEST_SKIP() << "e2fsprogs is needed";
    tree = dir.path() / "tree";
    write_text(tree / "bin/hello", "#!/bin/sh\necho hello\n");
    write_text(tree / "etc/os-release", "ID=test\n");
    fs::create_directories(tree / "proc");
    guestinit = dir.path() / "guestinit";
    write_text(guestinit, std::string(5000, 'G'));
  }

  ImageRecord import_into(const fs::path& state) {
    auto store = ImageStore::open(state);
    ImportOptions options;
    options.source = tree;
    auto outcome = import_image(*store, options);
    EXPECT_TRUE(outcome) << outcome.error().message;
    return outcome ? outcome->record : ImageRecord{};
  }

  TempDir dir;
  fs::path tree;
  fs::path guestinit;
};

TEST_F(RootDiskTest, ReproducibleWithGuestInitAndMountPoints) {
  const ImageRecord a = import_into(dir.path() / "state-a");
  const ImageRecord b = import_into(dir.path() / "state-b");
  ASSERT_EQ(a.digest, b.digest);
  auto disk_a = ensure_root_disk(*ImageStore::open(dir.path() / "state-a"), a.digest, guestinit);
  auto disk_b = ensure_root_disk(*ImageStore::open(dir.path() / "state-b"), b.digest, guestinit);
  ASSERT_TRUE(disk_a) << disk_a.error().message;
  ASSERT_TRUE(disk_b) << disk_b.error().message;
  EXPECT_TRUE(disk_a->built);
  EXPECT_EQ(disk_a->sha256, disk_b->sha256);
  EXPECT_EQ(read_text(disk_a->path), read_text(disk_b->path)) << "same image, same guest init: same bytes";
  EXPECT_EQ(*sha256_file(disk_a->path), disk_a->sha256);
  EXPECT_EQ(fs::file_size(disk_a->path), disk_a->size_bytes);
  EXPECT_EQ(disk_a->size_bytes % (1 << 20), 0u);
  EXPECT_GE(disk_a->size_bytes, 64u << 20);

  const std::string stat = run_tool({"debugfs", "-R", "stat /.microagent/guestinit", disk_a->path.string()});
  EXPECT_NE(stat.find("Type: regular"), std::string::npos) << stat;
  EXPECT_NE(stat.find("Mode:  0755"), std::string::npos) << stat;
  EXPECT_NE(stat.find("User:     0   Group:     0"), std::string::npos) << stat;
  EXPECT_NE(stat.find("Size: 5000"), std::string::npos) << stat;
  const std::string root = run_tool({"debugfs", "-R", "ls -l /", disk_a->path.string()});
  for (const char* name : {"proc", "sys", "dev", "run", "tmp", "bin", "etc", ".microagent"}) {
    EXPECT_NE(root.find(std::string(" ") + name), std::string::npos) << name << " missing in\n" << root;
  }
  EXPECT_EQ(run_tool({"debugfs", "-R", "cat /etc/os-release", disk_a->path.string()}), "ID=test\n");
  run_tool({"e2fsck", "-fn", disk_a->path.string()});
}

// mke2fs copies the host's ctime (the import's time) and atime (the last
// read): the disk must hold the fixed time instead, or a second import a
// second later would give other bytes.
TEST_F(RootDiskTest, HostInodeTimesDoNotLeakIntoTheDisk) {
  write_text(tree / "etc/name\nwith-newline", "x");
  const ImageRecord record = import_into(dir.path() / "state");
  auto disk = ensure_root_disk(*ImageStore::open(dir.path() / "state"), record.digest, guestinit);
  ASSERT_TRUE(disk) << disk.error().message;
  for (const char* path : {"/", "/bin", "/bin/hello", "/etc", "/etc/os-release", "/proc", "/lost+found"}) {
    const std::string stat = run_tool({"debugfs", "-R", std::string("stat ") + path, disk->path.string()});
    for (const char* field : {" ctime: 0x5e0be100:", " atime: 0x5e0be100:", "crtime: 0x5e0be100:"}) {
      EXPECT_NE(stat.find(field), std::string::npos) << path << " lacks" << field << " (2020-01-01):\n" << stat;
    }
  }
  // The newline-named file, which no debugfs path can name: by inode number.
  const std::string etc = run_tool({"debugfs", "-R", "ls -l /etc", disk->path.string()});
  const auto line = etc.rfind('\n', etc.find("with-newline"));
  ASSERT_NE(line, std::string::npos) << etc;
  const std::string inode = std::to_string(std::stoul(etc.substr(line + 1)));
  const std::string stat = run_tool({"debugfs", "-R", "stat <" + inode + ">", disk->path.string()});
  EXPECT_NE(stat.find(" ctime: 0x5e0be100:"), std::string::npos) << stat;
  run_tool({"e2fsck", "-fn", disk->path.string()});
}

TEST_F(RootDiskTest, CachedPerGuestInit) {
  const ImageRecord r = import_into(dir.path() / "state");
  auto store = ImageStore::open(dir.path() / "state");
  auto first = ensure_root_disk(*store, r.digest, guestinit);
  auto again = ensure_root_disk(*store, r.digest, guestinit);
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_FALSE(again->built);
  EXPECT_EQ(again->path, first->path);
  EXPECT_EQ(again->sha256, first->sha256);

  write_text(guestinit, std::string(6000, 'H'));
  auto other = ensure_root_disk(*store, r.digest, guestinit);
  ASSERT_TRUE(other) << other.error().message;
  EXPECT_TRUE(other->built);
  EXPECT_NE(other->path, first->path);
  EXPECT_TRUE(fs::is_empty(dir.path() / "state/images/tmp"));
}

TEST_F(RootDiskTest, UnknownImageIsNotFound) {
  auto store = ImageStore::open(dir.path() / "state");
  auto disk = ensure_root_disk(*store, "sha256:" + std::string(64, 'a'), guestinit);
  ASSERT_FALSE(disk);
  EXPECT_EQ(disk.error().code, ErrorCode::not_found);
}

}  // namespace
}  // namespace microagent::image
