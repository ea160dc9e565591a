#include "guestinit/workload_user.hpp"

#include <gtest/gtest.h>

namespace microagent::guestinit {
namespace {

const std::string kPasswd =
    "root:x:0:0:root:/root:/bin/sh\n"
    "app:x:1000:1001:App:/home/app:/bin/sh\n"
    "broken line\n"
    "nohome:x:1002:1002:::/bin/sh\n";
const std::string kGroup =
    "root:x:0:\n"
    "appgrp:x:1001:\n"
    "docker:x:998:app,other\n"
    "video:x:44:other\n";

TEST(WorkloadUser, EmptyIsRoot) {
  auto user = resolve_workload_user("", kPasswd, kGroup);
  ASSERT_TRUE(user);
  EXPECT_EQ(user->uid, 0u);
  EXPECT_EQ(user->gid, 0u);
  EXPECT_EQ(user->home, "/root");
}

TEST(WorkloadUser, NameTakesPasswdGidHomeAndSupplementaryGroups) {
  auto user = resolve_workload_user("app", kPasswd, kGroup);
  ASSERT_TRUE(user) << user.error().message;
  EXPECT_EQ(user->uid, 1000u);
  EXPECT_EQ(user->gid, 1001u);
  EXPECT_EQ(user->home, "/home/app");
  EXPECT_EQ(user->groups, (std::vector<gid_t>{1001, 998}));
}

TEST(WorkloadUser, NumericUidWithoutEntryIsAllowed) {
  auto user = resolve_workload_user("4242", kPasswd, kGroup);
  ASSERT_TRUE(user);
  EXPECT_EQ(user->uid, 4242u);
  EXPECT_EQ(user->gid, 0u);
  EXPECT_EQ(user->home, "/");
}

TEST(WorkloadUser, ExplicitGroupByNameOrNumber) {
  auto by_name = resolve_workload_user("app:video", kPasswd, kGroup);
  ASSERT_TRUE(by_name);
  EXPECT_EQ(by_name->gid, 44u);
  auto by_number = resolve_workload_user("1000:7", kPasswd, kGroup);
  ASSERT_TRUE(by_number);
  EXPECT_EQ(by_number->uid, 1000u);
  EXPECT_EQ(by_number->gid, 7u);
}

TEST(WorkloadUser, EmptyHomeBecomesRoot) {
  auto user = resolve_workload_user("nohome", kPasswd, kGroup);
  ASSERT_TRUE(user);
  EXPECT_EQ(user->home, "/");
}

TEST(WorkloadUser, UnknownNamesAreErrors) {
  EXPECT_EQ(resolve_workload_user("nobody", kPasswd, kGroup).error().code, ErrorCode::not_found);
  EXPECT_EQ(resolve_workload_user("app:nogroup", kPasswd, kGroup).error().code, ErrorCode::not_found);
  EXPECT_EQ(resolve_workload_user(":1", kPasswd, kGroup).error().code, ErrorCode::invalid_request);
}

}  // namespace
}  // namespace microagent::guestinit
