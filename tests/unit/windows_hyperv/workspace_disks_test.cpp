// The root and data VHDs of a workspace against their ext4 sources, checked
// by QEMU's own reader: `qemu-img info -f vpc` sees a fixed VHD of the
// source's size and `qemu-img compare -f vpc -F raw` finds identical content.
#include "backends/windows_hyperv/workspace_disks.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "common/process.hpp"

namespace microagent::windows_hyperv {
namespace {

std::string mke2fs() {
  if (auto p = find_program("mke2fs")) return *p;
  for (const char* p : {"/usr/sbin/mke2fs", "/sbin/mke2fs"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return {};
}

class WorkspaceDisksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/ma-hyperv-disks-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  // An ext4 image holding `files` (name -> content), made with mke2fs -d.
  std::filesystem::path make_ext4(const std::string& name, const std::map<std::string, std::string>& files,
                                  const std::string& size) {
    const auto tree = dir / (name + ".tree");
    std::filesystem::create_directories(tree);
    for (const auto& [file, content] : files) std::ofstream(tree / file) << content;
    const auto image = dir / (name + ".ext4");
    auto out = run_command({mke2fs(), "-q", "-F", "-t", "ext4", "-d", tree.string(), image.string(), size});
    EXPECT_TRUE(out && out->status.success()) << (out ? out->err : out.error().message);
    return image;
  }

  static CommandOutput run_ok(const std::vector<std::string>& argv) {
    auto out = run_command(argv);
    EXPECT_TRUE(out) << argv[0] << ": " << (out ? "" : out.error().message);
    if (!out) return {};
    EXPECT_TRUE(out->status.success()) << argv[1] << ": " << out->out << out->err;
    return *out;
  }

  void expect_vhd_of(const std::filesystem::path& vhd, const std::filesystem::path& ext4) {
    const auto info = nlohmann::json::parse(run_ok({"qemu-img", "info", "--output=json", "-f", "vpc", vhd.string()}).out);
    EXPECT_EQ(info["format"], "vpc");
    EXPECT_EQ(info["virtual-size"].get<std::uint64_t>(), std::filesystem::file_size(ext4));
    EXPECT_EQ(std::filesystem::file_size(vhd), std::filesystem::file_size(ext4) + 512);
    const auto compare = run_ok({"qemu-img", "compare", "-f", "vpc", "-F", "raw", vhd.string(), ext4.string()});
    EXPECT_NE(compare.out.find("Images are identical"), std::string::npos) << compare.out;
  }

  std::filesystem::path dir;
};

TEST_F(WorkspaceDisksTest, RootAndDataVhdsMatchTheirExt4Sources) {
  if (mke2fs().empty() || !find_program("qemu-img")) GTEST_SKIP() << "needs e2fsprogs and qemu-utils (scripts/bootstrap)";
  const auto root = make_ext4("root", {{"hello.txt", "root disk\n"}}, "8M");
  const auto data = make_ext4("data", {{"input.csv", "a,b\n1,2\n"}}, "4M");
  const auto scratch = make_ext4("scratch", {}, "2M");
  protocol::WorkspaceConfig config;
  config.rootfs_path = root.string();
  config.disks = {{data.string(), "ro", "/data"}, {scratch.string(), "rw", "/scratch"}};
  const auto workspace = dir / "state" / "workspaces" / "ws1";

  auto disks = ensure_workspace_disks(config, workspace);
  ASSERT_TRUE(disks) << disks.error().message;
  ASSERT_EQ(disks->scsi.size(), 3u);
  EXPECT_EQ(disks->scsi[0].path, (workspace / "rootfs.vhd").string());
  EXPECT_FALSE(disks->scsi[0].read_only);
  EXPECT_EQ(disks->scsi[1].path, (workspace / "disk-0.vhd").string());
  EXPECT_TRUE(disks->scsi[1].read_only);
  EXPECT_EQ(disks->scsi[2].path, (workspace / "disk-1.vhd").string());
  EXPECT_FALSE(disks->scsi[2].read_only);
  EXPECT_EQ(disks->root_device, "/dev/sda");
  ASSERT_EQ(disks->guest_disks.size(), 2u);
  EXPECT_EQ(disks->guest_disks[0].device, "/dev/sdb");
  EXPECT_EQ(disks->guest_disks[1].device, "/dev/sdc");
  EXPECT_FALSE(disks->guest_disks[1].read_only);

  expect_vhd_of(workspace / "rootfs.vhd", root);
  expect_vhd_of(workspace / "disk-0.vhd", data);
  expect_vhd_of(workspace / "disk-1.vhd", scratch);
}

TEST_F(WorkspaceDisksTest, ExistingVhdsAreKeptAcrossStarts) {
  std::ofstream(dir / "root.img") << std::string(1024, 'x');
  protocol::WorkspaceConfig config;
  config.rootfs_path = (dir / "root.img").string();
  ASSERT_TRUE(ensure_workspace_disks(config, dir / "ws"));
  // The guest wrote to its disk; a later start must not overwrite it from the image.
  std::ofstream(dir / "ws" / "rootfs.vhd", std::ios::in | std::ios::out | std::ios::binary) << "GUEST";
  ASSERT_TRUE(ensure_workspace_disks(config, dir / "ws"));
  std::ifstream in(dir / "ws" / "rootfs.vhd", std::ios::binary);
  std::string head(5, '\0');
  in.read(head.data(), 5);
  EXPECT_EQ(head, "GUEST");
}

TEST_F(WorkspaceDisksTest, NoRootDiskMeansDataFromSda) {
  std::ofstream(dir / "d.img") << std::string(512, 'd');
  protocol::WorkspaceConfig config;
  config.disks = {{(dir / "d.img").string(), "rw", "/data"}};
  auto disks = ensure_workspace_disks(config, dir / "ws");
  ASSERT_TRUE(disks) << disks.error().message;
  EXPECT_EQ(disks->root_device, "");
  EXPECT_EQ(disks->guest_disks[0].device, "/dev/sda");
}

TEST_F(WorkspaceDisksTest, BadDisksFailBeforeWritingAnything) {
  std::ofstream(dir / "d.img") << "x";
  protocol::WorkspaceConfig config;
  config.disks = {{(dir / "d.img").string(), "rw", "data"}};
  EXPECT_EQ(ensure_workspace_disks(config, dir / "ws").error().code, ErrorCode::invalid_request);
  config.disks = {{(dir / "d.img").string(), "append", "/data"}};
  EXPECT_EQ(ensure_workspace_disks(config, dir / "ws").error().code, ErrorCode::invalid_request);
  config.disks = {{(dir / "missing.img").string(), "ro", "/data"}};
  EXPECT_EQ(ensure_workspace_disks(config, dir / "ws").error().code, ErrorCode::not_found);
  EXPECT_FALSE(std::filesystem::exists(dir / "ws"));
}

}  // namespace
}  // namespace microagent::windows_hyperv
