#include "guestinit/workload_env.hpp"

#include <gtest/gtest.h>

namespace microagent::guestinit {
namespace {

TEST(WorkloadEnv, DefaultsThenConfigOverrides) {
  EXPECT_EQ(build_workload_env({}),
            (std::vector<std::string>{"HOME=/root", std::string("PATH=") + kDefaultPath, "TERM=linux"}));
  EXPECT_EQ(build_workload_env({{"HOME", "/home/u"}, {"A", "x=y"}}),
            (std::vector<std::string>{"A=x=y", "HOME=/home/u", std::string("PATH=") + kDefaultPath, "TERM=linux"}));
}

TEST(WorkloadEnv, PathFromEnv) {
  EXPECT_EQ(path_from_env({"A=1", "PATH=/x:/y"}), "/x:/y");
  EXPECT_EQ(path_from_env({"A=1"}), kDefaultPath);
}

TEST(WorkloadEnv, ExecutableCandidates) {
  struct Case {
    std::string command, path;
    std::vector<std::string> want;
  };
  const Case cases[] = {
      {"sh", "/bin:/usr/bin", {"/bin/sh", "/usr/bin/sh"}},
      {"sh", "/bin::/usr/bin", {"/bin/sh", "./sh", "/usr/bin/sh"}},
      {"sh", "", {"./sh"}},
      {"/bin/sh", "/usr/bin", {"/bin/sh"}},
      {"./tool", "/usr/bin", {"./tool"}},
      {"sub/tool", "/usr/bin", {"sub/tool"}},
  };
  for (const auto& c : cases) EXPECT_EQ(executable_candidates(c.command, c.path), c.want) << c.command << " " << c.path;
}

}  // namespace
}  // namespace microagent::guestinit
