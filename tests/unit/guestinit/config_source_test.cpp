#include "guestinit/config_source.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include <unistd.h>

namespace microagent::guestinit {
namespace {

class ConfigSource : public ::testing::Test {
 protected:
  void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }
  // Unique per test process: CTest runs the tests of one binary in parallel.
  std::string prefix = ::testing::TempDir() + "/guestinit-" + std::to_string(::getpid());
  ConfigLocations where{prefix + "-cmdline", prefix + "-config.json"};
  void TearDown() override {
    std::remove(where.cmdline_file.c_str());
    std::remove(where.config_file.c_str());
  }
};

GuestConfig named(const std::string& hostname) {
  GuestConfig config;
  config.argv = {"true"};
  config.hostname = hostname;
  return config;
}

TEST_F(ConfigSource, CmdlineWinsOverFile) {
  write(where.cmdline_file, "console=ttyS0 " + *encode_config_cmdline_param(named("from-cmdline")) + "\n");
  write(where.config_file, guest_config_to_json(named("from-file")));
  auto config = load_guest_config(where);
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->hostname, "from-cmdline");
}

TEST_F(ConfigSource, FallsBackToTheInitramfsFile) {
  write(where.cmdline_file, "console=ttyS0 quiet\n");
  write(where.config_file, guest_config_to_json(named("from-file")));
  auto config = load_guest_config(where);
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->hostname, "from-file");
}

TEST_F(ConfigSource, CorruptCmdlineIsAnErrorNotAFallback) {
  write(where.cmdline_file, "microagent.config=%%%\n");
  write(where.config_file, guest_config_to_json(named("from-file")));
  auto config = load_guest_config(where);
  ASSERT_FALSE(config.has_value());
  EXPECT_EQ(config.error().code, ErrorCode::invalid_request);
}

TEST_F(ConfigSource, NeitherIsNotFound) {
  write(where.cmdline_file, "console=ttyS0\n");
  auto config = load_guest_config(where);
  ASSERT_FALSE(config.has_value());
  EXPECT_EQ(config.error().code, ErrorCode::not_found);
  EXPECT_NE(config.error().message.find("no workload config"), std::string::npos);
}

TEST(CmdlineFlag, MatchesWholeTokensOnly) {
  EXPECT_TRUE(cmdline_has_flag("quiet microagent.debug=1 panic=-1\n", "microagent.debug=1"));
  EXPECT_FALSE(cmdline_has_flag("microagent.debug=10", "microagent.debug=1"));
  EXPECT_FALSE(cmdline_has_flag("", "microagent.debug=1"));
}

}  // namespace
}  // namespace microagent::guestinit
