#include "net/port_spec.hpp"

#include <gtest/gtest.h>

namespace microagent::net {
namespace {

TEST(PublishSpec, ParsesTheAcceptedForms) {
  struct Case {
    const char* text;
    const char* host;
    int host_port, guest_port;
  };
  for (const Case& c : {Case{"8080:80", "127.0.0.1", 8080, 80}, Case{"8080:80/tcp", "127.0.0.1", 8080, 80},
                        Case{"0.0.0.0:9000:9001", "0.0.0.0", 9000, 9001}, Case{"localhost:1:65535/tcp", "127.0.0.1", 1, 65535}}) {
    auto forward = parse_publish(c.text);
    ASSERT_TRUE(forward) << c.text << ": " << forward.error().message;
    EXPECT_EQ(forward->host, c.host) << c.text;
    EXPECT_EQ(forward->host_port, c.host_port) << c.text;
    EXPECT_EQ(forward->guest_port, c.guest_port) << c.text;
    EXPECT_EQ(forward->protocol, "tcp");
  }
}

TEST(PublishSpec, RejectsBadInputWithInvalidRequest) {
  for (const char* text : {"", "80", "8080:", ":80", "0:80", "8080:0", "70000:80", "8080:80/udp", "a:b", "8080:80:90:100",
                           "example.com:8080:80", "8080:80/", "-1:80", "8080:+80", "1.2.3:8080:80"}) {
    auto forward = parse_publish(text);
    ASSERT_FALSE(forward) << "accepted '" << text << "'";
    EXPECT_EQ(forward.error().code, ErrorCode::invalid_request) << text;
    EXPECT_NE(forward.error().message.find("HOSTPORT:GUESTPORT"), std::string::npos) << forward.error().message;
  }
}

TEST(MediationSpec, ParsesPortEqualsTarget) {
  auto spec = parse_mediation("2048=127.0.0.1:9900", true);
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->port, 2048u);
  EXPECT_EQ(spec->target, "127.0.0.1:9900");
  EXPECT_TRUE(spec->required);
  auto optional = parse_mediation("4000=localhost:1", false);
  ASSERT_TRUE(optional);
  EXPECT_EQ(optional->target, "127.0.0.1:1");
  EXPECT_FALSE(optional->required);
}

TEST(MediationSpec, RejectsBadInput) {
  for (const char* text : {"", "2048", "=127.0.0.1:1", "2048=", "2048=127.0.0.1", "2048=127.0.0.1:0", "x=127.0.0.1:1",
                           "2048=host:80", "0=127.0.0.1:80"}) {
    auto spec = parse_mediation(text, true);
    ASSERT_FALSE(spec) << "accepted '" << text << "'";
    EXPECT_EQ(spec.error().code, ErrorCode::invalid_request);
  }
}

}  // namespace
}  // namespace microagent::net
