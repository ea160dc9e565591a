// `rm NAME` removes a workspace microagent made, never just any directory
// called NAME under the state dir (issue 13): an unmarked directory, a symlink
// to one, the state dir's own folders and a system directory are refused with
// a structured error and left as they were. No guest is booted.
#include <gtest/gtest.h>

#include <fstream>

#include "e2e_support.hpp"
#include "supervisor/runtime_store.hpp"

namespace microagent::e2e {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Refused through the CLI with --json: non-zero, ok:false, one of the codes allowed.
void expect_refused(const fs::path& state_dir, const std::string& name) {
  auto run = run_cli(state_dir, {"--json", "rm", name});
  EXPECT_NE(run.exit_code, 0) << name;
  auto response = json::parse(run.out, nullptr, false);
  ASSERT_TRUE(response.is_object()) << run.out << run.err;
  EXPECT_EQ(response["ok"], false) << run.out;
  const std::string code = response["error"].value("code", "");
  EXPECT_TRUE(code == "not_found" || code == "invalid_request") << run.out;
}

class DeleteRefusalTest : public ::testing::Test {
 protected:
  TempDir tmp;
};

TEST_F(DeleteRefusalTest, AnUnmarkedDirectoryIsRefusedAndKept) {
  fs::create_directories(tmp.path / "victim" / "sub");
  std::ofstream(tmp.path / "victim" / "sub" / "precious") << "keep me";
  expect_refused(tmp.path, "victim");
  EXPECT_EQ(read_text(tmp.path / "victim" / "sub" / "precious"), "keep me");
  // Nor does a crafted event history make it a workspace.
  std::ofstream(tmp.path / "victim" / "event.json")
      << R"({"identity":{"runtimeID":"victim"},"state":"stopped","observedAt":"2026-12-01T00:00:00Z"})" << "\n";
  expect_refused(tmp.path, "victim");
  EXPECT_EQ(read_text(tmp.path / "victim" / "sub" / "precious"), "keep me");
}

TEST_F(DeleteRefusalTest, ASymlinkToADirectoryIsRefusedAndItsTargetKept) {
  TempDir outside;
  std::ofstream(outside.path / "precious") << "keep me";
  fs::create_symlink(outside.path, tmp.path / "link");
  expect_refused(tmp.path, "link");
  EXPECT_TRUE(fs::is_symlink(tmp.path / "link"));
  EXPECT_EQ(read_text(outside.path / "precious"), "keep me");

  // Even a symlink to a genuine workspace of another state dir.
  TempDir other;
  supervisor::RuntimeStore real(other.path, protocol::RuntimeId::parse("real").value());
  ASSERT_TRUE(real.create());
  fs::create_symlink(real.dir(), tmp.path / "real");
  expect_refused(tmp.path, "real");
  EXPECT_TRUE(fs::exists(real.marker_path()));
}

TEST_F(DeleteRefusalTest, TheStateDirsOwnFoldersAreRefused) {
  for (const char* name : {"images", "locks", "workspaces", "cache", "tmp"}) {
    fs::create_directories(tmp.path / name);
    std::ofstream(tmp.path / name / "keep") << "keep";
    expect_refused(tmp.path, name);
    EXPECT_EQ(read_text(tmp.path / name / "keep"), "keep") << name;
  }
}

TEST_F(DeleteRefusalTest, ASystemDirectoryAsStateDirIsRefused) {
  if (!fs::is_directory("/etc/ssh")) GTEST_SKIP() << "this host has no /etc/ssh to aim at";
  const auto before = std::distance(fs::directory_iterator("/etc/ssh"), fs::directory_iterator());
  expect_refused("/etc", "ssh");
  EXPECT_TRUE(fs::is_directory("/etc/ssh"));
  EXPECT_EQ(std::distance(fs::directory_iterator("/etc/ssh"), fs::directory_iterator()), before);
  EXPECT_FALSE(fs::exists("/etc/locks")) << "a refused rm must not leave a locks folder behind";
}

TEST_F(DeleteRefusalTest, AWorkspaceMicroagentMadeIsStillRemoved) {
  if (!kernel_available()) GTEST_SKIP() << "run `build/bin/microagent kernel fetch`";
  auto ran = run_cli(tmp.path, {"run", "--name", "ws", "--", "true"});
  ASSERT_EQ(ran.exit_code, 0) << ran.err;
  EXPECT_TRUE(fs::exists(tmp.path / "ws" / supervisor::RuntimeStore::kMarkerName));
  auto removed = run_cli(tmp.path, {"rm", "ws"});
  EXPECT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_FALSE(fs::exists(tmp.path / "ws"));
}

}  // namespace
}  // namespace microagent::e2e
