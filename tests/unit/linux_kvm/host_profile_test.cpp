#include "backends/linux_kvm/host_profile.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include <nlohmann/json.hpp>

#include "common/atomic_file.hpp"

namespace microagent::linux_kvm {
namespace {

class HostProfileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = "/tmp/ma-profile-XXXXXX";
    dir = ::mkdtemp(pattern.data());
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::filesystem::path dir;
};

TEST_F(HostProfileTest, MeasuresOnceThenServesTheCache) {
  const auto cache = dir / "cache" / "host-profile.json";
  const HostProfile first = host_profile(cache);
  ASSERT_TRUE(std::filesystem::exists(cache));
  EXPECT_FALSE(first.accel.accel.empty());
  // A doctored cache entry with the right key is what the next call returns.
  auto doc = nlohmann::json::parse(*read_file(cache));
  doc["reason"] = "from the cache";
  ASSERT_TRUE(write_file_atomic(cache, doc.dump()));
  EXPECT_EQ(host_profile(cache).accel.reason, "from the cache");
}

TEST_F(HostProfileTest, AnotherKeyMeasuresAgain) {
  const auto cache = dir / "host-profile.json";
  host_profile(cache);
  auto doc = nlohmann::json::parse(*read_file(cache));
  doc["key"] = "boot=another-boot";
  doc["reason"] = "stale";
  ASSERT_TRUE(write_file_atomic(cache, doc.dump()));
  EXPECT_NE(host_profile(cache).accel.reason, "stale");
}

TEST_F(HostProfileTest, CorruptCacheIsIgnored) {
  const auto cache = dir / "host-profile.json";
  std::ofstream(cache) << "{not json";
  EXPECT_FALSE(host_profile(cache).accel.accel.empty());
  EXPECT_TRUE(nlohmann::json::accept(*read_file(cache)));
}

TEST(HostProfileKey, NamesBootKvmAndOverride) {
  const std::string key = host_profile_key();
  EXPECT_NE(key.find("boot="), std::string::npos);
  EXPECT_NE(key.find("kvm="), std::string::npos);
  ::setenv("MICROAGENT_ACCEL", "tcg", 1);
  EXPECT_NE(host_profile_key(), key);
  ::unsetenv("MICROAGENT_ACCEL");
}

}  // namespace
}  // namespace microagent::linux_kvm
