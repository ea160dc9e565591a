#include "guestinit/tcp_memory.hpp"

#include <gtest/gtest.h>

namespace microagent::guestinit {
namespace {

TEST(TcpMemory, AnEighthAQuarterAndHalfOfTheGuestInPages) {
  // A 256 MiB guest reports about 219 MiB of MemTotal: 56064 pages of 4 KiB.
  EXPECT_EQ(tcp_mem_setting(224256, 4096), "7008 14016 28032");
}

TEST(TcpMemory, UnusableSizesGiveNoSetting) {
  EXPECT_EQ(tcp_mem_setting(0, 4096), "");
  EXPECT_EQ(tcp_mem_setting(100, 4096), "");
  EXPECT_EQ(tcp_mem_setting(224256, 0), "");
}

}  // namespace
}  // namespace microagent::guestinit
