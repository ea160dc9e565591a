#include "image/module_order.hpp"

#include <gtest/gtest.h>

namespace microagent::image {
namespace {

// Shaped like depmod's output for Debian 6.1 cloud-amd64 (each line lists the
// full dependency closure).
constexpr std::string_view kVirtioDep = R"(kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_mmio.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_pci_modern_dev.ko:
kernel/drivers/virtio/virtio_pci_legacy_dev.ko:
kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_legacy_dev.ko kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/net/core/failover.ko:
kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko
kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/char/virtio_console.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/net/vmw_vsock/vsock.ko:
kernel/net/vmw_vsock/vmw_vsock_virtio_transport_common.ko: kernel/net/vmw_vsock/vsock.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/net/vmw_vsock/vmw_vsock_virtio_transport.ko: kernel/net/vmw_vsock/vmw_vsock_virtio_transport_common.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko kernel/net/vmw_vsock/vsock.ko
kernel/net/vmw_vsock/hv_sock.ko: kernel/net/vmw_vsock/vsock.ko kernel/drivers/hv/hv_vmbus.ko
kernel/drivers/hv/hv_vmbus.ko:
kernel/drivers/scsi/scsi_transport_fc.ko:
kernel/drivers/scsi/hv_storvsc.ko: kernel/drivers/scsi/scsi_transport_fc.ko kernel/drivers/hv/hv_vmbus.ko
kernel/drivers/net/hyperv/hv_netvsc.ko: kernel/drivers/hv/hv_vmbus.ko
kernel/crypto/some-dashed_mod.ko:
kernel/drivers/acpi/button.ko:
kernel/drivers/input/evdev.ko:
)";

// Every dependency of every emitted module appears before it, and nothing twice.
void expect_valid_order(const ModuleIndex&, std::string_view dep_text, const std::vector<std::string>& order) {
  std::map<std::string, std::size_t> position;
  for (std::size_t i = 0; i < order.size(); ++i) {
    EXPECT_TRUE(position.emplace(order[i], i).second) << order[i] << " appears twice";
  }
  auto index = ModuleIndex::parse(dep_text);
  std::size_t pos = 0;
  while (pos < dep_text.size()) {
    std::size_t end = dep_text.find('\n', pos);
    std::string_view line = dep_text.substr(pos, end - pos);
    pos = end + 1;
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string user(line.substr(0, colon));
    if (!position.contains(user)) continue;
    std::string_view rest = line.substr(colon + 1);
    std::size_t p = 0;
    while (p < rest.size()) {
      std::size_t s = rest.find_first_not_of(' ', p);
      if (s == std::string_view::npos) break;
      std::size_t e = rest.find(' ', s);
      if (e == std::string_view::npos) e = rest.size();
      std::string dep(rest.substr(s, e - s));
      ASSERT_TRUE(position.contains(dep)) << dep << " (needed by " << user << ") missing";
      EXPECT_LT(position[dep], position[user]) << dep << " must come before " << user;
      p = e;
    }
  }
}

TEST(ModuleOrder, MicrovmSetResolvesInDependencyOrder) {
  auto index = ModuleIndex::parse(kVirtioDep);
  ASSERT_TRUE(index) << index.error().message;
  auto order = index->load_order(kMicrovmModules);
  ASSERT_TRUE(order) << order.error().message;
  EXPECT_EQ(order->size(), kMicrovmModules.size());
  expect_valid_order(*index, kVirtioDep, *order);
  EXPECT_EQ(order->front(), "kernel/drivers/virtio/virtio_ring.ko");
  EXPECT_EQ(order->back(), "kernel/drivers/input/evdev.ko");
}

TEST(ModuleOrder, HypervSetPullsInDependencies) {
  auto index = ModuleIndex::parse(kVirtioDep);
  ASSERT_TRUE(index);
  auto order = index->load_order(kHypervModules);
  ASSERT_TRUE(order) << order.error().message;
  expect_valid_order(*index, kVirtioDep, *order);
  EXPECT_EQ(*order, (std::vector<std::string>{
                        "kernel/drivers/hv/hv_vmbus.ko",
                        "kernel/drivers/scsi/scsi_transport_fc.ko",
                        "kernel/drivers/scsi/hv_storvsc.ko",
                        "kernel/drivers/net/hyperv/hv_netvsc.ko",
                        "kernel/net/vmw_vsock/vsock.ko",
                        "kernel/net/vmw_vsock/hv_sock.ko",
                    }));
}

TEST(ModuleOrder, TableDriven) {
  // Diamond: top needs left and right, both need base. Dependency lists
  // deliberately partial (not the closure) to exercise the recursive walk.
  constexpr std::string_view kDiamond =
      "k/top.ko: k/left.ko k/right.ko\n"
      "k/left.ko: k/base.ko\n"
      "k/right.ko: k/base.ko\n"
      "k/base.ko:\n"
      "k/lone.ko:\n";
  struct Case {
    const char* name;
    std::vector<std::string> wanted;
    std::vector<std::string> expected;  // empty + !ok: error
    bool ok = true;
  } cases[] = {
      {"diamond", {"top"}, {"k/base.ko", "k/left.ko", "k/right.ko", "k/top.ko"}},
      {"dependency asked first", {"base", "top"}, {"k/base.ko", "k/left.ko", "k/right.ko", "k/top.ko"}},
      {"duplicates once", {"left", "left", "base", "right", "top"}, {"k/base.ko", "k/left.ko", "k/right.ko", "k/top.ko"}},
      {"independent keeps order", {"lone", "base"}, {"k/lone.ko", "k/base.ko"}},
      {"empty", {}, {}},
      {"missing module", {"top", "nope"}, {}, false},
  };
  auto index = ModuleIndex::parse(kDiamond);
  ASSERT_TRUE(index);
  for (const auto& c : cases) {
    auto order = index->load_order(c.wanted);
    if (!c.ok) {
      ASSERT_FALSE(order) << c.name;
      EXPECT_EQ(order.error().code, ErrorCode::not_found) << c.name;
      EXPECT_NE(order.error().message.find("'nope'"), std::string::npos) << order.error().message;
      continue;
    }
    ASSERT_TRUE(order) << c.name << ": " << order.error().message;
    EXPECT_EQ(*order, c.expected) << c.name;
  }
}

TEST(ModuleOrder, NamesNormaliseDashesAndCompression) {
  EXPECT_EQ(module_name_from_path("kernel/crypto/some-dashed_mod.ko"), "some_dashed_mod");
  EXPECT_EQ(module_name_from_path("kernel/fs/ext4/ext4.ko.xz"), "ext4");
  EXPECT_EQ(module_name_from_path("virtio.ko.zst"), "virtio");
  auto index = ModuleIndex::parse(kVirtioDep);
  ASSERT_TRUE(index);
  auto order = index->load_order({"some-dashed-mod", "virtio-net"});
  ASSERT_TRUE(order) << order.error().message;
  EXPECT_EQ(order->front(), "kernel/crypto/some-dashed_mod.ko");
  EXPECT_EQ(order->back(), "kernel/drivers/net/virtio_net.ko");
}

TEST(ModuleOrder, BuiltinModulesResolveToNothing) {
  auto index = ModuleIndex::parse("k/a.ko:\n");
  ASSERT_TRUE(index);
  EXPECT_FALSE(index->load_order({"ext4"}));
  index->add_builtin("kernel/fs/ext4/ext4.ko\nkernel/fs/jbd2/jbd2.ko\n");
  auto order = index->load_order({"ext4", "a"});
  ASSERT_TRUE(order) << order.error().message;
  EXPECT_EQ(*order, std::vector<std::string>{"k/a.ko"});
}

TEST(ModuleOrder, BadInputs) {
  auto bad = ModuleIndex::parse("k/a.ko: k/b.ko\nthis line has no colon\n");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("line 2"), std::string::npos);
  auto cycle = ModuleIndex::parse("k/a.ko: k/b.ko\nk/b.ko: k/a.ko\n");
  ASSERT_TRUE(cycle);
  auto order = cycle->load_order({"a"});
  ASSERT_FALSE(order);
  EXPECT_NE(order.error().message.find("cycle"), std::string::npos);
  auto blank = ModuleIndex::parse("\n# comment\n\r\nk/a.ko:\r\n");
  ASSERT_TRUE(blank);
  EXPECT_TRUE(blank->contains("a"));
}

}  // namespace
}  // namespace microagent::image
