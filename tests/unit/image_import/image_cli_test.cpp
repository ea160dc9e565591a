// `microagent image ...` as a user drives it: JSON output, exit codes and
// structured errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "import_test_util.hpp"

namespace microagent::image {
namespace {

using namespace testing;

const fs::path kMicroagent = fs::path(MICROAGENT_BIN_DIR) / "microagent";

struct CliRun {
  int exit_code = -1;
  std::vector<nlohmann::json> lines;  // one JSON document per stdout line
  std::string err;
};

class ImageCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kMicroagent)) GTEST_SKIP() << "build the microagent target first";
    tree = dir.path() / "tree";
    write_text(tree / "bin/app", "app\n");
  }

  CliRun run(std::vector<std::string> args) {
    args.insert(args.begin(), {kMicroagent.string(), "--json", "--state-dir", (dir.path() / "state").string()});
    auto out = run_command(args);
    CliRun result;
    if (!out) return result;
    result.exit_code = out->status.exit_code.value_or(-1);
    result.err = out->err;
    std::istringstream lines(out->out);
    for (std::string line; std::getline(lines, line);) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      EXPECT_FALSE(j.is_discarded()) << "not JSON: " << line;
      result.lines.push_back(j);
    }
    return result;
  }

  void expect_error(const CliRun& r, const std::string& code) {
    EXPECT_EQ(r.exit_code, 125);
    ASSERT_FALSE(r.lines.empty()) << r.err;
    EXPECT_EQ(r.lines.back().value("ok", true), false);
    EXPECT_EQ(r.lines.back()["error"].value("code", ""), code) << r.lines.back().dump();
  }

  TempDir dir;
  fs::path tree;
};

TEST_F(ImageCliTest, ImportListInspectRemove) {
  auto imported = run({"image", "import", tree.string(), "--name", "app:1"});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  ASSERT_GE(imported.lines.size(), 2u);
  EXPECT_TRUE(imported.lines.front().contains("progress"));
  const auto& final = imported.lines.back();
  EXPECT_EQ(final.value("ok", false), true);
  EXPECT_EQ(final.value("alreadyPresent", true), false);
  const std::string digest = final["image"]["digest"];
  EXPECT_EQ(final["image"]["names"], nlohmann::json::array({"app:1"}));

  auto again = run({"image", "import", tree.string()});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.lines.back().value("alreadyPresent", false), true);

  auto listed = run({"image", "ls"});
  ASSERT_EQ(listed.exit_code, 0);
  ASSERT_EQ(listed.lines.back()["images"].size(), 1u);
  EXPECT_EQ(listed.lines.back()["images"][0]["digest"], digest);

  auto inspected = run({"image", "inspect", "app:1"});
  ASSERT_EQ(inspected.exit_code, 0);
  EXPECT_EQ(inspected.lines.back()["image"]["digest"], digest);
  auto by_prefix = run({"image", "inspect", digest.substr(7, 12)});
  EXPECT_EQ(by_prefix.exit_code, 0);

  auto removed = run({"image", "rm", "app:1"});
  ASSERT_EQ(removed.exit_code, 0);
  EXPECT_EQ(removed.lines.back()["removed"]["digest"], digest);
  expect_error(run({"image", "inspect", "app:1"}), "not_found");
  expect_error(run({"image", "inspect", digest}), "not_found");
  EXPECT_TRUE(run({"image", "ls"}).lines.back()["images"].empty());
}

TEST_F(ImageCliTest, BadInputGetsStructuredErrors) {
  expect_error(run({"image", "import", (dir.path() / "missing").string()}), "not_found");
  expect_error(run({"image", "import", tree.string(), "--name", "bad name"}), "invalid_request");
  write_text(dir.path() / "garbage.tar", std::string(2000, '\x01'));
  expect_error(run({"image", "import", (dir.path() / "garbage.tar").string()}), "invalid_request");
  fs::create_directories(dir.path() / "layout");
  write_text(dir.path() / "layout/oci-layout", "{}");
  expect_error(run({"image", "import", (dir.path() / "layout").string()}), "invalid_request");
  write_text(dir.path() / "layout/oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  write_text(dir.path() / "layout/index.json", R"({"manifests":[{"digest":"sha256:../../etc/passwd"}]})");
  expect_error(run({"image", "import", (dir.path() / "layout").string()}), "invalid_request");
  expect_error(run({"image", "rm", "nothing"}), "not_found");
}

}  // namespace
}  // namespace microagent::image
