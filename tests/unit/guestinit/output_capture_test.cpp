#include "guestinit/output_capture.hpp"

#include <gtest/gtest.h>

namespace microagent::guestinit {
namespace {

TEST(BoundedOutput, KeepsThePrefixAndCountsEverything) {
  BoundedOutput out(5);
  out.append("abc");
  EXPECT_FALSE(out.truncated());
  out.append("defg");
  out.append("hij");
  EXPECT_EQ(out.data(), "abcde");
  EXPECT_EQ(out.total_bytes(), 10u);
  EXPECT_TRUE(out.truncated());
}

TEST(BoundedOutput, ZeroLimitKeepsNothing) {
  BoundedOutput out(0);
  out.append("x");
  EXPECT_EQ(out.data(), "");
  EXPECT_TRUE(out.truncated());
  EXPECT_EQ(out.total_bytes(), 1u);
}

TEST(BoundedOutput, EmptyAppendNeverTruncates) {
  BoundedOutput out(0);
  out.append("");
  EXPECT_FALSE(out.truncated());
}

}  // namespace
}  // namespace microagent::guestinit
