// Every verb that takes a workspace name refuses one that could name a path
// outside the state dir, at parse time: exit 125, invalid_request, and nothing
// in or beside the state dir touched (issue 13, item 12). No guest boots here.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "common/process.hpp"

namespace microagent {
namespace {

const std::string kCli = std::string(MICROAGENT_BIN_DIR) + "/microagent";

std::vector<std::string> listing(const std::filesystem::path& root) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

class HostileNames : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = "/tmp/ma-names-XXXXXX";
    root_ = ::mkdtemp(pattern.data());
    std::filesystem::create_directories(root_ / "state");
    std::filesystem::create_directories(root_ / "x");
    std::ofstream(root_ / "x" / "serial.log") << "outside the state dir";
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::filesystem::path root_;
};

TEST_F(HostileNames, EveryVerbRefusesThemWithInvalidRequest) {
  const std::vector<std::string> names{"../x", "/etc", "..", ".", "a/b", "A", std::string(300, 'a'), "a\nb", "-",
                                       "a b", "x/../../etc"};
  struct Verb {
    std::vector<std::string> before, after;
  };
  const std::vector<Verb> verbs{
      {{"logs"}, {}}, {{"logs", "-f"}, {}}, {{"inspect"}, {}}, {{"status"}, {}}, {{"rm"}, {}}, {{"delete"}, {}},
      {{"stop"}, {}}, {{"kill"}, {}}, {{"halt"}, {}}, {{"quarantine"}, {}}, {{"console"}, {"text"}}, {{"wait"}, {}},
      {{"connect", "--send", "x"}, {}}, {{"network"}, {}}, {{"create"}, {}}, {{"start"}, {}}};
  const auto before = listing(root_);
  int cases = 0;
  for (const auto& verb : verbs) {
    for (const auto& name : names) {
      std::vector<std::string> argv{kCli, "--json", "--state-dir", (root_ / "state").string()};
      argv.insert(argv.end(), verb.before.begin(), verb.before.end());
      argv.push_back("--");  // a name starting with '-' is still a name
      argv.push_back(name);
      argv.insert(argv.end(), verb.after.begin(), verb.after.end());
      auto out = run_command(argv);
      ASSERT_TRUE(out);
      const std::string what = verb.before[0] + " '" + name + "'";
      EXPECT_EQ(out->status.exit_code.value_or(-1), 125) << what << ": " << out->out << out->err;
      auto body = nlohmann::json::parse(out->out, nullptr, false);
      ASSERT_TRUE(body.is_object()) << what << ": " << out->out << out->err;
      EXPECT_EQ(body["ok"], false) << what;
      EXPECT_EQ(body["error"]["code"], "invalid_request") << what << ": " << out->out;
      ++cases;
    }
  }
  EXPECT_GE(cases, 150);
  EXPECT_EQ(listing(root_), before) << "a refused name touched the file system";
}

TEST_F(HostileNames, RunRefusesThemToo) {
  for (const std::string& name : std::vector<std::string>{"../x", "/etc", std::string(64, 'a')}) {
    auto out = run_command({kCli, "--json", "--state-dir", (root_ / "state").string(), "run", "--name", name, "--", "true"});
    ASSERT_TRUE(out);
    EXPECT_EQ(out->status.exit_code.value_or(-1), 125) << name;
    EXPECT_NE(out->out.find("invalid_request"), std::string::npos) << name << ": " << out->out;
  }
}

TEST_F(HostileNames, LogsOfAValidNameThatDoesNotExistIsNotFound) {
  auto out = run_command({kCli, "--json", "--state-dir", (root_ / "state").string(), "logs", "nobody"});
  ASSERT_TRUE(out);
  EXPECT_EQ(out->status.exit_code.value_or(-1), 125);
  EXPECT_NE(out->out.find("not_found"), std::string::npos) << out->out;
}

}  // namespace
}  // namespace microagent
