// Devices, FIFOs and setuid/setgid files of an image: never on the host (not
// while the layers unpack, not in the store), present in the root disk with
// their numbers, modes and owners; whiteouts and replacements in later layers
// drop them; hostile names are quoted into debugfs or left out with a warning.
#include <gtest/gtest.h>

#include "image/oci/special_files.hpp"
#include "image/store/image_import.hpp"
#include "image/store/root_disk.hpp"
#include "special_layout_util.hpp"

namespace microagent::image {
namespace {

using namespace testing;

class SpecialFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!find_program("mke2fs") || !find_program("debugfs")) GTEST_SKIP() << "e2fsprogs is needed";
    guestinit = dir.path() / "guestinit";
    write_text(guestinit, std::string(3000, 'G'));
    write_text(dir.path() / "outside/keep", "outside\n");
  }

  // Imports the layers as an OCI layout; `staged_hazards` gets what the
  // staging rootfs held once every layer was applied, before the commit.
  ImportOutcome import(const std::vector<std::vector<Node>>& layers, const std::string& state = "state") {
    const fs::path layout = dir.path() / ("layout" + std::to_string(counter++));
    write_layout(layout, layers);
    auto store = ImageStore::open(dir.path() / state);
    ImportOptions options;
    options.source = layout;
    staged_rootfs_seen = 0;
    options.on_progress = [&](const ImportProgress& p) {
      if (p.phase != "rootfs" || p.done) return;
      for (const auto& staging : fs::directory_iterator(dir.path() / state / "images/tmp")) {
        if (!fs::exists(staging.path() / "rootfs")) continue;
        ++staged_rootfs_seen;
        for (auto& hazard : host_hazards(staging.path() / "rootfs")) staged_hazards.push_back(hazard);
      }
    };
    auto outcome = import_image(*store, options);
    EXPECT_TRUE(outcome) << outcome.error().message;
    return outcome ? *outcome : ImportOutcome{};
  }

  fs::path disk_of(const ImageRecord& record, const std::string& state = "state") {
    auto disk = ensure_root_disk(*ImageStore::open(dir.path() / state), record.digest, guestinit);
    EXPECT_TRUE(disk) << disk.error().message;
    if (!disk) return {};
    run_tool({"e2fsck", "-fn", disk->path.string()});
    return disk->path;
  }

  TempDir dir;
  fs::path guestinit;
  int counter = 0;
  int staged_rootfs_seen = 0;
  std::vector<std::string> staged_hazards;
};

const std::vector<Node> kSpecialLayer = {
    directory("dev"),
    device("dev/null", AE_IFCHR, 1, 3),
    device("dev/sda", AE_IFBLK, 8, 0, 0660, 6),
    device("dev/nvme0n1", AE_IFBLK, 259, 300, 0660, 6),  // past 8-bit numbers: ext4's new encoding
    hardlink_to("dev/null-again", "dev/null"),
    fifo("run/initctl"),
    file("bin/su", "#!/bin/sh\necho root\n", 04755),
    hardlink_to("bin/su-link", "bin/su"),
    file("usr/bin/wall", "#!/bin/sh\n", 02755, 0, 5),
};

TEST_F(SpecialFilesTest, LiveOnlyInsideTheRootDisk) {
  const ImportOutcome outcome = import({kSpecialLayer});
  EXPECT_EQ(staged_rootfs_seen, 1);
  EXPECT_EQ(staged_hazards, std::vector<std::string>{}) << "the staging rootfs held a device, FIFO or setuid file";
  EXPECT_EQ(host_hazards(dir.path()), std::vector<std::string>{}) << "the store holds a device, FIFO or setuid file";
  EXPECT_TRUE(outcome.record.warnings.empty());
  struct stat st{};
  ASSERT_EQ(::lstat((outcome.record.rootfs / "bin/su").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);

  const fs::path disk = disk_of(outcome.record);
  ASSERT_FALSE(disk.empty());
  std::string s = image_stat(disk, "dev/null");
  EXPECT_NE(s.find("Type: character special"), std::string::npos) << s;
  EXPECT_NE(s.find("Mode:  0666"), std::string::npos) << s;
  EXPECT_NE(s.find("Device major/minor number: 01:03"), std::string::npos) << s;
  s = image_stat(disk, "dev/null-again");
  EXPECT_NE(s.find("Device major/minor number: 01:03"), std::string::npos) << s;
  s = image_stat(disk, "dev/sda");
  EXPECT_NE(s.find("Type: block special"), std::string::npos) << s;
  EXPECT_NE(s.find("Mode:  0660"), std::string::npos) << s;
  EXPECT_NE(s.find("User:     0   Group:     6"), std::string::npos) << s;
  EXPECT_NE(s.find("Device major/minor number: 08:00"), std::string::npos) << s;
  s = image_stat(disk, "dev/nvme0n1");
  EXPECT_NE(s.find("Device major/minor number: 259:300"), std::string::npos) << s;
  s = image_stat(disk, "run/initctl");
  EXPECT_NE(s.find("Type: FIFO"), std::string::npos) << s;
  EXPECT_NE(s.find("Mode:  0600"), std::string::npos) << s;
  for (const char* su : {"bin/su", "bin/su-link"}) {
    s = image_stat(disk, su);
    EXPECT_NE(s.find("Type: regular"), std::string::npos) << s;
    EXPECT_NE(s.find("Mode:  04755"), std::string::npos) << su << "\n" << s;
    EXPECT_NE(s.find("User:     0   Group:     0"), std::string::npos) << s;
  }
  s = image_stat(disk, "usr/bin/wall");
  EXPECT_NE(s.find("Mode:  02755"), std::string::npos) << s;
  EXPECT_NE(s.find("Group:     5"), std::string::npos) << s;
  EXPECT_EQ(run_tool({"debugfs", "-R", "cat /bin/su", disk.string()}), "#!/bin/sh\necho root\n");
}

TEST_F(SpecialFilesTest, SameImageGivesTheSameSpecialInodes) {
  const ImportOutcome a = import({kSpecialLayer}, "state-a");
  const ImportOutcome b = import({kSpecialLayer}, "state-b");
  ASSERT_EQ(a.record.digest, b.record.digest);
  EXPECT_EQ(a.record.rootfs_digest, b.record.rootfs_digest);
  EXPECT_EQ(read_text(a.record.dir / kSpecialFilesName), read_text(b.record.dir / kSpecialFilesName));
  const fs::path disk_a = disk_of(a.record, "state-a");
  const fs::path disk_b = disk_of(b.record, "state-b");
  for (const char* path : {"dev/null", "dev/nvme0n1", "run/initctl", "bin/su"}) {
    // Inode numbers, times, modes: all the same (mke2fs's own copies keep host ctimes, so not whole bytes).
    std::string sa = image_stat(disk_a, path), sb = image_stat(disk_b, path);
    if (std::string_view(path) == "bin/su") {
      sa = sa.substr(0, sa.find(" ctime:"));
      sb = sb.substr(0, sb.find(" ctime:"));
    }
    EXPECT_EQ(sa, sb) << path;
  }
}

TEST_F(SpecialFilesTest, LaterLayersWhiteOutAndReplaceThem) {
  const ImportOutcome outcome = import({
      {device("dev/null", AE_IFCHR, 1, 3), device("dev/zero", AE_IFCHR, 1, 5), fifo("dev/keep"), fifo("run/fifo"),
       device("run/sub/tty", AE_IFCHR, 5, 0), device("etc/devs/tty0", AE_IFCHR, 4, 0), file("bin/su", "su", 04755),
       device("opt/was-node", AE_IFCHR, 1, 7)},
      {file("dev/.wh.null", ""), file("run/.wh..wh..opq", ""), file("run/new", "new\n"),
       file("dev/zero", "now a file\n"), file("etc/.wh.devs", ""), file("bin/su", "plain", 0755),
       directory("opt/was-node")},
  });
  EXPECT_EQ(host_hazards(dir.path()), std::vector<std::string>{});
  auto specials = special_files_from_json(read_text(outcome.record.dir / kSpecialFilesName));
  ASSERT_TRUE(specials) << specials.error().message;
  std::vector<std::string> left;
  for (const auto& [path, f] : specials->files()) left.push_back(path);
  EXPECT_EQ(left, std::vector<std::string>{"dev/keep"});

  const fs::path disk = disk_of(outcome.record);
  ASSERT_FALSE(disk.empty());
  for (const char* gone : {"dev/null", "run/fifo", "run/sub", "etc/devs"}) {
    EXPECT_EQ(image_stat(disk, gone), "") << gone << " should be whited out";
  }
  EXPECT_NE(image_stat(disk, "dev/keep").find("Type: FIFO"), std::string::npos);
  EXPECT_NE(image_stat(disk, "dev/zero").find("Type: regular"), std::string::npos);
  EXPECT_EQ(run_tool({"debugfs", "-R", "cat /dev/zero", disk.string()}), "now a file\n");
  EXPECT_NE(image_stat(disk, "run/new").find("Type: regular"), std::string::npos);
  EXPECT_NE(image_stat(disk, "opt/was-node").find("Type: directory"), std::string::npos);
  const std::string su = image_stat(disk, "bin/su");
  EXPECT_NE(su.find("Mode:  0755"), std::string::npos) << su;
}

TEST_F(SpecialFilesTest, HostileNamesAreQuotedOrLeftOut) {
  const std::vector<std::string> quotable = {"dev/a b", "dev/q\"uote\"", "dev/-rf", "dev/<2>", "dev/!reboot",
                                             "dev/#comment", "dev/tab\tx", "dev/semi;rm -rf x", "my dir/n d",
                                             "dev/\"\"", "dev/ lead"};
  std::string long_path;
  for (int i = 0; i < 30; ++i) long_path += std::string(110, 'd') + "/";
  long_path += "node";
  std::vector<Node> layer;
  for (const auto& name : quotable) layer.push_back(device(name, AE_IFCHR, 1, 3));
  layer.push_back(device("dev/new\nline", AE_IFCHR, 1, 3));
  layer.push_back(fifo("dev/cr\rrm -rf /"));
  layer.push_back(device(long_path, AE_IFBLK, 8, 1));
  layer.push_back(file("bin/evil\n!reboot", "#!/bin/sh\n", 04755));
  layer.push_back(device("dev/huge", AE_IFCHR, 1, 70000));
  // The parent resolves inside the root: the node lands in the image's /etc.
  layer.push_back(directory("etc"));
  layer.push_back(symlink_to("lnk", "/etc"));
  layer.push_back(device("lnk/node", AE_IFCHR, 1, 8));
  const ImportOutcome outcome = import({layer});
  EXPECT_EQ(host_hazards(dir.path()), std::vector<std::string>{});
  EXPECT_EQ(read_text(dir.path() / "outside/keep"), "outside\n");
  EXPECT_FALSE(fs::exists("/etc/node"));
  ASSERT_EQ(outcome.record.warnings.size(), 5u);
  // Named with their control bytes spelled out: a warning cannot move a terminal's cursor either.
  for (const char* named : {"dev/new\\x0aline", "dev/cr\\x0drm", "node", "bin/evil\\x0a!reboot", "dev/huge"}) {
    bool found = false;
    for (const auto& w : outcome.record.warnings) found = found || w.find(named) != std::string::npos;
    EXPECT_TRUE(found) << "no warning names " << named;
  }
  // Left out entirely: not even a stand-in on the host.
  EXPECT_FALSE(fs::exists(fs::symlink_status(outcome.record.rootfs / "dev/new\nline")));
  EXPECT_FALSE(fs::exists(fs::symlink_status(outcome.record.rootfs / long_path)));

  const fs::path disk = disk_of(outcome.record);
  ASSERT_FALSE(disk.empty());
  for (const auto& name : quotable) {
    const std::string s = image_stat(disk, name);
    EXPECT_NE(s.find("Type: character special"), std::string::npos) << "'" << name << "':\n" << s;
    EXPECT_NE(s.find("Device major/minor number: 01:03"), std::string::npos) << name;
  }
  const std::string dev = image_ls(disk, "dev");
  for (const char* listed : {" a b", " q\"uote\"", " -rf", " <2>", " !reboot", " #comment", " semi;rm -rf x", "  lead"}) {
    EXPECT_NE(dev.find(listed), std::string::npos) << listed << " missing in\n" << dev;
  }
  EXPECT_EQ(dev.find("new"), std::string::npos) << dev;
  EXPECT_EQ(dev.find("huge"), std::string::npos) << dev;
  EXPECT_NE(image_stat(disk, "etc/node").find("Type: character special"), std::string::npos);
  EXPECT_NE(image_stat(disk, "lnk").find("Type: symlink"), std::string::npos);
  // The setuid file kept its content, without the bits.
  const std::string evil = image_ls(disk, "bin");
  EXPECT_NE(evil.find("100755"), std::string::npos) << evil;
  EXPECT_EQ(evil.find("104755"), std::string::npos) << evil;
}

TEST_F(SpecialFilesTest, RootfsDigestSeesDeviceNumbers) {
  auto import_tar = [&](unsigned minor, const std::string& state) {
    const fs::path tar = dir.path() / ("rootfs" + std::to_string(counter++) + ".tar");
    write_nodes(tar, {device("dev/x", AE_IFCHR, 1, minor), file("etc/os-release", "ID=t\n")});
    ImportOptions options;
    options.source = tar;
    auto store = ImageStore::open(dir.path() / state);
    auto outcome = import_image(*store, options);
    EXPECT_TRUE(outcome) << outcome.error().message;
    return outcome ? outcome->record : ImageRecord{};
  };
  const ImageRecord three = import_tar(3, "state");
  const ImageRecord five = import_tar(5, "state");
  const ImageRecord three_again = import_tar(3, "state-2");
  EXPECT_NE(three.digest, five.digest) << "two images that differ in a device number are two images";
  EXPECT_EQ(three.digest, three_again.digest);
  EXPECT_EQ(host_hazards(dir.path()), std::vector<std::string>{});
  const fs::path disk = disk_of(five);
  EXPECT_NE(image_stat(disk, "dev/x").find("Device major/minor number: 01:05"), std::string::npos);
}

}  // namespace
}  // namespace microagent::image
