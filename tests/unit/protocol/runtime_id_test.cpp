// RuntimeId is the only way to name a workspace's directory, so every name a
// user or a request can send that could leave the state dir must not parse.
#include "protocol/runtime_id.hpp"

#include <gtest/gtest.h>

#include <string>

namespace microagent::protocol {
namespace {

TEST(RuntimeId, AcceptsTheNamesWorkspacesUse) {
  const std::string names[] = {"a", "ws1", "agent-1", "build_7", "v1.2", "0day", std::string(63, 'x')};
  for (const auto& name : names) {
    auto id = RuntimeId::parse(name);
    ASSERT_TRUE(id) << name << ": " << id.error().message;
    EXPECT_EQ(id->str(), name);
  }
}

TEST(RuntimeId, RefusesEveryNameThatCouldLeaveTheStateDir) {
  const std::string cases[] = {
      "",          "..",           ".",          "../x",          "a/b",  "/etc",   "-rf",       ".hidden",
      "A",         "ws\n",         "ws\r",       std::string("w\0s", 3), "a b", "a\\b", "ws;rm",    "é",
      "_x",        std::string(64, 'x'),        std::string(300, 'a'),
  };
  for (const auto& name : cases) {
    auto id = RuntimeId::parse(name);
    ASSERT_FALSE(id) << "accepted: " << name;
    EXPECT_EQ(id.error().code, ErrorCode::invalid_request) << name;
    EXPECT_NE(id.error().message.find("identity.runtimeID"), std::string::npos) << id.error().message;
  }
}

TEST(RuntimeId, ComparesByValue) {
  EXPECT_EQ(RuntimeId::parse("ws").value(), RuntimeId::parse("ws").value());
  EXPECT_FALSE(RuntimeId::parse("ws").value() == RuntimeId::parse("ws2").value());
}

}  // namespace
}  // namespace microagent::protocol
