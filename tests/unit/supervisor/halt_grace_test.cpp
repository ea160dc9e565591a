#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/guest_wire.hpp"
#include "supervisor/workspace_records.hpp"

namespace microagent::supervisor {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

protocol::Request halt_with(json options) {
  protocol::Request request;
  request.raw = json{{"command", "halt"}};
  if (!options.is_null()) request.raw["options"] = std::move(options);
  return request;
}

TEST(HaltGrace, TwoSecondsUnlessTheRequestSaysOtherwise) {
  EXPECT_EQ(*halt_grace(halt_with(nullptr)), 2s);
  EXPECT_EQ(*halt_grace(halt_with(json::object())), 2s);
  EXPECT_EQ(*halt_grace(halt_with(json{{"graceSeconds", 30}})), 30s);
  EXPECT_EQ(*halt_grace(halt_with(json{{"graceSeconds", 0}})), 0s);
  EXPECT_EQ(*halt_grace(halt_with(json{{"graceSeconds", 600}})), 600s);
}

TEST(HaltGrace, AnythingElseIsAnInvalidRequest) {
  for (const json& bad : {json(-1), json(601), json(1.5), json("10"), json(true)}) {
    auto grace = halt_grace(halt_with(json{{"graceSeconds", bad}}));
    ASSERT_FALSE(grace) << bad.dump();
    EXPECT_EQ(grace.error().code, ErrorCode::invalid_request);
  }
}

TEST(HaltGrace, TheControlLineCarriesItInMilliseconds) {
  EXPECT_EQ(halt_command_line(30s), "{\"command\":\"halt\",\"graceMs\":30000}\n");
}

}  // namespace
}  // namespace microagent::supervisor
