#include "net/subnet_pool.hpp"

#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

namespace microagent::net {
namespace {

TEST(SubnetPool, ArithmeticAndParsing) {
  auto pool = parse_subnet("10.213.0.0/16");
  ASSERT_TRUE(pool);
  EXPECT_EQ(nth_subnet(*pool, 30, 0)->to_string(), "10.213.0.0/30");
  EXPECT_EQ(nth_subnet(*pool, 30, 1)->to_string(), "10.213.0.4/30");
  EXPECT_EQ(nth_subnet(*pool, 30, 16383)->to_string(), "10.213.255.252/30");
  EXPECT_FALSE(nth_subnet(*pool, 30, 16384));
  EXPECT_EQ(nth_subnet(*pool, 29, 2)->to_string(), "10.213.0.16/29");
  EXPECT_FALSE(nth_subnet(*pool, 8, 0));  // larger than the pool
  EXPECT_EQ(prefix_to_netmask(30), "255.255.255.252");
  EXPECT_EQ(prefix_to_netmask(24), "255.255.255.0");
  for (const char* bad : {"10.213.0.1/30", "10.213.0.0", "10.213.0.0/31", "10.213.0.0/x", "300.0.0.0/8"}) {
    EXPECT_FALSE(parse_subnet(bad)) << bad;
  }
}

struct LeaseDir {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("ma-leases-" + std::to_string(::getpid()) + "-" +
                                ::testing::UnitTest::GetInstance()->current_test_info()->name());
  ~LeaseDir() { std::filesystem::remove_all(path); }
};

TEST(SubnetPool, ConcurrentLeasesNeverCollide) {
  LeaseDir dir;
  auto pool = parse_subnet("10.99.0.0/24");  // 64 /30s
  std::mutex mutex;
  std::set<std::string> seen;
  std::vector<std::thread> threads;
  for (int i = 0; i < 32; ++i) {
    threads.emplace_back([&, i] {
      auto lease = lease_subnet(dir.path, "owner-" + std::to_string(i), *pool, 30);
      ASSERT_TRUE(lease) << lease.error().message;
      std::lock_guard lock(mutex);
      EXPECT_TRUE(seen.insert(lease->to_string()).second) << "handed out twice: " << lease->to_string();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(seen.size(), 32u);
}

TEST(SubnetPool, OwnerKeepsItsLeaseAndReleaseFreesIt) {
  LeaseDir dir;
  auto pool = parse_subnet("10.99.0.0/29");  // two /30s
  auto a = lease_subnet(dir.path, "a", *pool, 30);
  auto again = lease_subnet(dir.path, "a", *pool, 30);
  ASSERT_TRUE(a && again);
  EXPECT_EQ(a->to_string(), again->to_string());
  auto b = lease_subnet(dir.path, "b", *pool, 30);
  ASSERT_TRUE(b);
  auto full = lease_subnet(dir.path, "c", *pool, 30);
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, ErrorCode::conflict);
  release_subnet(dir.path, "someone-else", *a);  // not theirs: kept
  EXPECT_FALSE(lease_subnet(dir.path, "c", *pool, 30));
  release_subnet(dir.path, "a", *a);
  auto c = lease_subnet(dir.path, "c", *pool, 30);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->to_string(), a->to_string());
}

}  // namespace
}  // namespace microagent::net
