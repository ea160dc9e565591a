#include "common/connect_wire.hpp"

#include <gtest/gtest.h>

namespace microagent::connect_wire {
namespace {

TEST(ConnectWire, FrameRoundTripsWithBigEndianLength) {
  const std::string bytes = encode_frame(FrameType::stdout_data, "hi\n");
  ASSERT_EQ(bytes.size(), kFrameHeaderSize + 3);
  EXPECT_EQ(static_cast<unsigned char>(bytes[0]), 0x81);
  EXPECT_EQ(bytes.substr(1, 4), std::string("\0\0\0\3", 4));
  std::string buffer = bytes;
  auto frame = take_frame(buffer);
  ASSERT_TRUE(frame && *frame);
  EXPECT_EQ((*frame)->type, FrameType::stdout_data);
  EXPECT_EQ((*frame)->payload, "hi\n");
  EXPECT_TRUE(buffer.empty());
}

TEST(ConnectWire, PartialFramesWaitForMoreBytes) {
  const std::string bytes = encode_frame(FrameType::stdin_data, "abcdef") + encode_frame(FrameType::stdin_eof, "");
  std::string buffer;
  std::vector<Frame> frames;
  for (char c : bytes) {  // one byte at a time: every split point
    buffer.push_back(c);
    while (true) {
      auto frame = take_frame(buffer);
      ASSERT_TRUE(frame.has_value());
      if (!*frame) break;
      frames.push_back(**frame);
    }
  }
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].payload, "abcdef");
  EXPECT_EQ(frames[1].type, FrameType::stdin_eof);
  EXPECT_TRUE(frames[1].payload.empty());
}

TEST(ConnectWire, RejectsOversizeLengthAndUnknownType) {
  std::string oversize("\x01\x00\x10\x00\x01", 5);  // 1 MiB + 1
  auto frame = take_frame(oversize);
  ASSERT_FALSE(frame);
  EXPECT_EQ(frame.error().code, ErrorCode::invalid_request);
  std::string at_limit("\x01\x00\x10\x00\x00", 5);  // exactly 1 MiB: legal, just incomplete
  auto waiting = take_frame(at_limit);
  ASSERT_TRUE(waiting);
  EXPECT_FALSE(*waiting);
  std::string unknown("\x7f", 1);
  EXPECT_FALSE(take_frame(unknown));
  std::string empty;
  auto nothing = take_frame(empty);
  ASSERT_TRUE(nothing);
  EXPECT_FALSE(*nothing);
}

TEST(ConnectWire, ResizeSignalAndExitPayloads) {
  EXPECT_EQ(encode_resize({40, 300}), std::string("\x00\x28\x01\x2c", 4));
  EXPECT_EQ(*decode_resize(encode_resize({40, 300})), (WindowSize{40, 300}));
  EXPECT_FALSE(decode_resize("abc"));
  EXPECT_EQ(*decode_signal(encode_signal(2)), 2);
  EXPECT_FALSE(decode_signal(""));
  EXPECT_FALSE(decode_signal(std::string(1, '\0')));
  EXPECT_EQ(encode_exit({7, std::nullopt}), R"({"exitCode":7})");
  EXPECT_EQ(encode_exit({std::nullopt, 9}), R"({"signal":9})");
  EXPECT_EQ(decode_exit(R"({"exitCode":7})")->as_exit_code(), 7);
  EXPECT_EQ(decode_exit(R"({"signal":9})")->as_exit_code(), 137);
  for (const char* bad : {"", "[]", "{}", R"({"exitCode":"7"})", R"({"exitCode":1,"signal":2})", R"({"exitCode":-1})",
                          R"({"exitCode":256})"}) {
    EXPECT_FALSE(decode_exit(bad)) << bad;
  }
}

TEST(ConnectWire, RequestLineRoundTrips) {
  ConnectRequest request;
  request.tty = true;
  request.command = {"/bin/sh", "-c", "echo hi"};
  request.env = {{"TERM", "xterm-256color"}};
  request.size = {50, 132};
  request.workdir = "/tmp";
  request.user = "app:staff";
  const std::string line = connect_request_to_line(request);
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  auto parsed = connect_request_from_line(line);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_TRUE(parsed->tty);
  EXPECT_EQ(parsed->command, request.command);
  EXPECT_EQ(parsed->env, request.env);
  EXPECT_EQ(parsed->size, request.size);
  EXPECT_EQ(parsed->workdir, "/tmp");
  EXPECT_EQ(parsed->user, "app:staff");
}

TEST(ConnectWire, RequestDefaultsAndBadRequests) {
  auto defaults = connect_request_from_line("{}");
  ASSERT_TRUE(defaults);
  EXPECT_FALSE(defaults->tty);
  EXPECT_TRUE(defaults->command.empty());
  EXPECT_EQ(defaults->workdir, "/");
  EXPECT_EQ(defaults->size, (WindowSize{24, 80}));
  EXPECT_EQ(defaults->user, "");
  for (const char* bad : {"", "not json", "[]", R"({"tty":1})", R"({"command":"sh"})", R"({"command":[1]})",
                          R"({"command":[""]})", R"({"env":[]})", R"({"env":{"A":1}})", R"({"env":{"A=B":"x"}})",
                          R"({"rows":-1})", R"({"cols":70000})", R"({"workdir":5})", R"({"user":1000})"}) {
    auto parsed = connect_request_from_line(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().code, ErrorCode::invalid_request);
  }
  EXPECT_FALSE(connect_request_from_line(std::string(kMaxRequestLine + 1, ' ')));
}

}  // namespace
}  // namespace microagent::connect_wire
