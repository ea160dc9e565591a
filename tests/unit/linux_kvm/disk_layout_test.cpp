#include "backends/linux_kvm/disk_layout.hpp"

#include <gtest/gtest.h>

namespace microagent::linux_kvm {
namespace {

protocol::DiskSpec data(std::string path, std::string mode, std::string mount) {
  return protocol::DiskSpec{std::move(path), std::move(mode), std::move(mount)};
}

TEST(DiskLayout, RootDiskIsVdaAndDataDisksFollowInOrder) {
  WorkspaceDisks disks;
  disks.root = QemuDisk{"/ws/rootfs.qcow2", "qcow2", false};
  disks.data = {data("/a.ext4", "ro", "/a"), data("/b.ext4", "rw", "/b")};
  auto layout = lay_out_disks(disks);
  ASSERT_TRUE(layout);
  EXPECT_EQ(layout->root_device, "/dev/vda");
  ASSERT_EQ(layout->drives.size(), 3u);
  EXPECT_EQ(layout->drives[0].format, "qcow2");
  EXPECT_EQ(layout->drives[1].path, "/a.ext4");
  EXPECT_TRUE(layout->drives[1].read_only);
  EXPECT_FALSE(layout->drives[2].read_only);
  ASSERT_EQ(layout->mounts.size(), 2u);
  EXPECT_EQ(layout->mounts[0].device, "/dev/vdb");
  EXPECT_EQ(layout->mounts[0].mount, "/a");
  EXPECT_TRUE(layout->mounts[0].read_only);
  EXPECT_EQ(layout->mounts[1].device, "/dev/vdc");
  EXPECT_FALSE(layout->mounts[1].read_only);
}

TEST(DiskLayout, WorkspaceDiskWithoutImage) {
  WorkspaceDisks disks;
  disks.workspace = QemuDisk{"/ws/workspace.ext4", "raw", false};
  disks.data = {data("/a.ext4", "rw", "/a")};
  auto layout = lay_out_disks(disks);
  ASSERT_TRUE(layout);
  EXPECT_EQ(layout->root_device, "");
  EXPECT_EQ(layout->mounts[0].device, "/dev/vda");
  EXPECT_EQ(layout->mounts[0].mount, "/workspace");
  EXPECT_EQ(layout->mounts[1].device, "/dev/vdb");
}

TEST(DiskLayout, DataDisksAloneStartAtVda) {
  WorkspaceDisks disks;
  disks.data = {data("/a.ext4", "ro", "/a")};
  auto layout = lay_out_disks(disks);
  ASSERT_TRUE(layout);
  EXPECT_EQ(layout->mounts[0].device, "/dev/vda");
}

TEST(DiskLayout, RejectsTooManyDisksAndRootMounts) {
  WorkspaceDisks many;
  for (std::size_t i = 0; i <= kMaxDisks; ++i) many.data.push_back(data("/d", "ro", "/d" + std::to_string(i)));
  EXPECT_EQ(lay_out_disks(many).error().code, ErrorCode::invalid_request);
  WorkspaceDisks at_root;
  at_root.data = {data("/d", "rw", "/")};
  EXPECT_EQ(lay_out_disks(at_root).error().code, ErrorCode::invalid_request);
}

TEST(DiskLayout, DeviceNames) {
  EXPECT_EQ(virtio_block_device(0), "/dev/vda");
  EXPECT_EQ(virtio_block_device(19), "/dev/vdt");
}

}  // namespace
}  // namespace microagent::linux_kvm
