#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/guest_wire.hpp"
#include "protocol/json_codec.hpp"

namespace microagent::supervisor {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// A halt request through the codec, with `options` when not null.
Result<protocol::Request> halt_with(json options) {
  json request{{"command", "halt"},
               {"identity", {{"requestID", "r1"}, {"runtimeID", "ws"}, {"backend", "linux-kvm"}}},
               {"config", {{"stateDir", "/tmp/state"}}}};
  if (!options.is_null()) request["options"] = std::move(options);
  return protocol::parse_request(request.dump());
}

TEST(HaltGrace, TwoSecondsUnlessTheRequestSaysOtherwise) {
  auto grace = [](json options) { return halt_with(std::move(options))->options.grace_seconds; };
  EXPECT_EQ(grace(nullptr), 2);
  EXPECT_EQ(grace(json::object()), 2);
  EXPECT_EQ(grace(json{{"graceSeconds", 30}}), 30);
  EXPECT_EQ(grace(json{{"graceSeconds", 0}}), 0);
  EXPECT_EQ(grace(json{{"graceSeconds", 600}}), 600);
}

TEST(HaltGrace, AnythingElseIsAnInvalidRequest) {
  for (const json& bad : {json(-1), json(601), json(1.5), json("10"), json(true)}) {
    auto request = halt_with(json{{"graceSeconds", bad}});
    ASSERT_FALSE(request) << bad.dump();
    EXPECT_EQ(request.error().code, ErrorCode::invalid_request);
    EXPECT_EQ(request.error().message, "options.graceSeconds must be an integer from 0 to 600");
  }
}

TEST(RequestOptions, TypedOnceByTheCodec) {
  auto parse = [](json extra) {
    json request{{"command", "quarantine"},
                 {"identity", {{"requestID", "r1"}, {"runtimeID", "ws"}, {"backend", "linux-kvm"}}},
                 {"config", {{"stateDir", "/tmp/state"}}}};
    request.update(extra);
    return protocol::parse_request(request.dump());
  };
  auto plain = parse(json::object());
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->options.no_capture);
  EXPECT_FALSE(plain->options.verify);
  EXPECT_FALSE(plain->options.console_input);
  auto typed = parse(json{{"options", {{"noCapture", true}}}, {"verify", true}, {"input", "ls\n"}});
  ASSERT_TRUE(typed);
  EXPECT_TRUE(typed->options.no_capture);
  EXPECT_TRUE(typed->options.verify);
  EXPECT_EQ(typed->options.console_input, "ls\n");
  for (const json& bad : {json{{"options", "x"}}, json{{"options", {{"noCapture", "yes"}}}}, json{{"verify", 1}},
                          json{{"input", 42}}}) {
    auto refused = parse(bad);
    ASSERT_FALSE(refused) << bad.dump();
    EXPECT_EQ(refused.error().code, ErrorCode::invalid_request) << bad.dump();
  }
}

TEST(HaltGrace, TheControlLineCarriesItInMilliseconds) {
  EXPECT_EQ(halt_command_line(30s), "{\"command\":\"halt\",\"graceMs\":30000}\n");
}

}  // namespace
}  // namespace microagent::supervisor
