#include "common/atomic_file.hpp"

#include <gtest/gtest.h>

#include "common/process.hpp"

namespace microagent {
namespace {

class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = "/tmp/ma-atomic-XXXXXX";
    root = ::mkdtemp(pattern.data());
  }
  void TearDown() override { std::filesystem::remove_all(root); }
  std::filesystem::path root;
};

TEST_F(AtomicFileTest, ReplacesWholeAndLeavesNoTempFiles) {
  const auto path = root / "f.json";
  ASSERT_TRUE(write_file_atomic(path, "first"));
  ASSERT_TRUE(write_file_atomic(path, "second, longer"));
  EXPECT_EQ(*read_file(path), "second, longer");
  size_t entries = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(root)) ++entries;
  EXPECT_EQ(entries, 1u);
}

TEST_F(AtomicFileTest, FailureNamesThePath) {
  auto ok = write_file_atomic(root / "missing" / "f", "x");
  ASSERT_FALSE(ok);
  EXPECT_EQ(ok.error().code, ErrorCode::not_found);
  EXPECT_NE(ok.error().message.find("missing"), std::string::npos);
}

TEST_F(AtomicFileTest, AppendsWholeLines) {
  const auto path = root / "events.json";
  ASSERT_TRUE(append_line_durable(path, "a"));
  ASSERT_TRUE(append_line_durable(path, "b"));
  EXPECT_EQ(*read_file(path), "a\nb\n");
}

TEST(Process, RunCommandCapturesBothStreamsAndStatus) {
  auto out = run_command({"sh", "-c", "cat; echo err >&2; exit 4"}, "input");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->out, "input");
  EXPECT_EQ(out->err, "err\n");
  EXPECT_EQ(out->status.exit_code, 4);
}

TEST(Process, MissingProgramIsNotFound) {
  auto out = run_command({"/nonexistent/program"});
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, ErrorCode::not_found);
}

TEST(Process, SignalIsReported) {
  auto out = run_command({"sh", "-c", "kill -TERM $$"});
  ASSERT_TRUE(out);
  EXPECT_EQ(out->status.signal, 15);
  EXPECT_NE(out->status.describe().find("signal 15"), std::string::npos);
}

}  // namespace
}  // namespace microagent
