#include "backends/linux_kvm/vsock/split_virtqueue.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <string>

#include "fake_driver_ring.hpp"

namespace microagent::linux_kvm {
namespace {

// Guest memory on a memfd, mapped by the device at a different front-end virtual base
// than guest-physical 0 so a mix-up of the two address spaces shows.
constexpr std::uint64_t kGuestBase = 0x100000;
constexpr std::uint64_t kFrontEndBase = 0x7f0000000000;
constexpr std::size_t kSize = 1 << 20;

class SplitVirtqueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fd = ::memfd_create("vq-test", MFD_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, kSize), 0);
    view_ = static_cast<std::uint8_t*>(::mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    vhost_user::MemoryRegion region{kGuestBase, kSize, kFrontEndBase, 0};
    std::vector<UniqueFd> fds;
    fds.emplace_back(fd);
    ASSERT_TRUE(memory_.set_table(std::span(&region, 1), fds));
    driver_.emplace(view_ + 0x80000, kGuestBase + 0x80000, 16);
    queue_.set_size(16);
    vhost_user::VringAddr addr{0, 0, kFrontEndBase + driver_->desc_gpa() - kGuestBase,
                               kFrontEndBase + driver_->used_gpa() - kGuestBase,
                               kFrontEndBase + driver_->avail_gpa() - kGuestBase, 0};
    ASSERT_TRUE(queue_.set_addresses(memory_, addr));
    queue_.set_kick(UniqueFd{}, true);
    queue_.set_enabled(true);
  }
  void TearDown() override { ::munmap(view_, kSize); }
  std::uint8_t* at(std::uint64_t gpa) { return view_ + (gpa - kGuestBase); }

  std::uint8_t* view_ = nullptr;
  GuestMemory memory_;
  SplitVirtqueue queue_;
  std::optional<testing::FakeDriverRing> driver_;
};

TEST_F(SplitVirtqueueTest, ReadsAndWritesAcrossChainedDescriptors) {
  std::memcpy(at(kGuestBase + 0x10000), "hea", 3);
  std::memcpy(at(kGuestBase + 0x20000), "der+payload", 11);
  driver_->add({{kGuestBase + 0x10000, 3, false},
                {kGuestBase + 0x20000, 11, false},
                {kGuestBase + 0x30000, 4, true},
                {kGuestBase + 0x40000, 8, true}});

  auto chain = queue_.pop(memory_);
  ASSERT_TRUE(chain);
  ASSERT_TRUE(chain->valid);
  EXPECT_EQ(chain->readable_bytes(), 14u);
  EXPECT_EQ(chain->writable_bytes(), 12u);
  std::string text(14, '\0');
  EXPECT_EQ(chain->read(0, std::span(reinterpret_cast<std::uint8_t*>(text.data()), text.size())), 14u);
  EXPECT_EQ(text, "header+payload");
  std::string tail(4, '\0');
  chain->read(10, std::span(reinterpret_cast<std::uint8_t*>(tail.data()), 4));
  EXPECT_EQ(tail, "load");

  std::string reply = "0123456789AB";
  EXPECT_EQ(chain->write(0, std::span(reinterpret_cast<const std::uint8_t*>(reply.data()), reply.size())), 12u);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(at(kGuestBase + 0x30000)), 4), "0123");
  EXPECT_EQ(std::string(reinterpret_cast<char*>(at(kGuestBase + 0x40000)), 8), "456789AB");

  EXPECT_FALSE(queue_.pop(memory_));
  queue_.push_used(chain->head, 12);
  auto used = driver_->take_used();
  ASSERT_TRUE(used);
  EXPECT_EQ(used->first, chain->head);
  EXPECT_EQ(used->second, 12u);
}

TEST_F(SplitVirtqueueTest, UnpopReturnsTheSameChainAndBaseTracksAvail) {
  driver_->add({{kGuestBase + 0x10000, 8, true}});
  driver_->add({{kGuestBase + 0x11000, 8, true}});
  auto first = queue_.pop(memory_);
  ASSERT_TRUE(first);
  queue_.unpop();
  auto again = queue_.pop(memory_);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->head, first->head);
  EXPECT_TRUE(queue_.pop(memory_));
  EXPECT_EQ(queue_.base(), 2u);
}

TEST_F(SplitVirtqueueTest, BadChainsAreMarkedInvalid) {
  // Outside guest memory.
  driver_->add({{kGuestBase + kSize, 16, false}});
  auto chain = queue_.pop(memory_);
  ASSERT_TRUE(chain);
  EXPECT_FALSE(chain->valid);
  // A descriptor loop: patch the next field to point at itself.
  auto head = driver_->add({{kGuestBase + 0x10000, 4, false}, {kGuestBase + 0x10010, 4, false}});
  ASSERT_TRUE(head);
  std::uint8_t* d = at(driver_->desc_gpa()) + 16 * *head;
  std::memcpy(d + 14, &*head, 2);
  chain = queue_.pop(memory_);
  ASSERT_TRUE(chain);
  EXPECT_FALSE(chain->valid);
}

TEST_F(SplitVirtqueueTest, StoppedRingOffersNothing) {
  driver_->add({{kGuestBase + 0x10000, 8, true}});
  queue_.stop();
  EXPECT_FALSE(queue_.pop(memory_));
}

}  // namespace
}  // namespace microagent::linux_kvm
