// Only a directory RuntimeStore::create() made is a workspace (issue 13): its
// marker is what `delete` and every other command look for.
#include <gtest/gtest.h>

#include <fstream>

#include <unistd.h>

#include "common/atomic_file.hpp"
#include "supervisor/runtime_store.hpp"

namespace microagent::supervisor {
namespace {

namespace fs = std::filesystem;

class WorkspaceMarkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = "/tmp/ma-marker-XXXXXX";
    root = ::mkdtemp(pattern.data());
  }
  void TearDown() override { fs::remove_all(root); }
  fs::path root;
};

TEST_F(WorkspaceMarkerTest, CreateWritesTheMarkerAndMakesAWorkspace) {
  RuntimeStore store(root, protocol::RuntimeId::parse("ws").value());
  EXPECT_FALSE(store.exists());
  EXPECT_EQ(store.check_workspace().error().code, ErrorCode::not_found);
  ASSERT_TRUE(store.create());
  EXPECT_TRUE(fs::is_regular_file(store.marker_path()));
  EXPECT_TRUE(store.exists());
  EXPECT_TRUE(store.check_workspace());
  // Again is fine: a workspace is created once, then reused.
  EXPECT_TRUE(store.create());
  EXPECT_TRUE(store.exists());
}

TEST_F(WorkspaceMarkerTest, AnUnmarkedDirectoryIsNotAWorkspace) {
  fs::create_directories(root / "victim");
  std::ofstream(root / "victim" / "precious") << "keep me";
  RuntimeStore store(root, protocol::RuntimeId::parse("victim").value());
  EXPECT_FALSE(store.exists());
  auto why = store.check_workspace();
  ASSERT_FALSE(why);
  EXPECT_EQ(why.error().code, ErrorCode::not_found);
  EXPECT_NE(why.error().message.find("not created by microagent"), std::string::npos) << why.error().message;
  // Nor does create() take it over: its files are someone else's.
  auto created = store.create();
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().code, ErrorCode::conflict);
  EXPECT_FALSE(fs::exists(store.marker_path()));
  EXPECT_EQ(*read_file(root / "victim" / "precious"), "keep me");
}

TEST_F(WorkspaceMarkerTest, AnEmptyUnmarkedDirectoryIsAdopted) {
  fs::create_directories(root / "empty");
  RuntimeStore store(root, protocol::RuntimeId::parse("empty").value());
  EXPECT_FALSE(store.exists());
  ASSERT_TRUE(store.create());
  EXPECT_TRUE(store.exists());
}

TEST_F(WorkspaceMarkerTest, ASymlinkIsNeverAWorkspaceEvenToAMarkedOne) {
  RuntimeStore real(root, protocol::RuntimeId::parse("real").value());
  ASSERT_TRUE(real.create());
  fs::create_symlink(root / "real", root / "link");
  RuntimeStore link(root, protocol::RuntimeId::parse("link").value());
  auto why = link.check_workspace();
  ASSERT_FALSE(why);
  EXPECT_EQ(why.error().code, ErrorCode::not_found);
  EXPECT_NE(why.error().message.find("symlink"), std::string::npos) << why.error().message;
  EXPECT_FALSE(link.create());
  EXPECT_TRUE(fs::is_symlink(root / "link"));

  // A symlink to an empty directory is not adopted either.
  fs::create_directories(root / "elsewhere");
  fs::create_symlink(root / "elsewhere", root / "link2");
  RuntimeStore link2(root, protocol::RuntimeId::parse("link2").value());
  EXPECT_FALSE(link2.create());
  EXPECT_TRUE(fs::is_empty(root / "elsewhere"));
}

TEST_F(WorkspaceMarkerTest, MarkerMustBeAPlainFileNamingThisRuntime) {
  RuntimeStore other(root, protocol::RuntimeId::parse("other").value());
  ASSERT_TRUE(other.create());
  // A copied or renamed directory carries another runtime's marker.
  fs::create_directories(root / "copy");
  fs::copy_file(other.marker_path(), root / "copy" / RuntimeStore::kMarkerName);
  EXPECT_FALSE(RuntimeStore(root, protocol::RuntimeId::parse("copy").value()).exists());
  // A marker that is a symlink to a genuine one does not count.
  fs::create_directories(root / "linked");
  RuntimeStore linked(root, protocol::RuntimeId::parse("linked").value());
  {
    RuntimeStore donor(root / "donor-state", protocol::RuntimeId::parse("linked").value());
    ASSERT_TRUE(donor.create());
    fs::create_symlink(donor.marker_path(), linked.marker_path());
  }
  EXPECT_FALSE(linked.exists());
  // Garbage in the marker is not a marker.
  fs::create_directories(root / "garbage");
  std::ofstream(root / "garbage" / RuntimeStore::kMarkerName) << "not json";
  EXPECT_FALSE(RuntimeStore(root, protocol::RuntimeId::parse("garbage").value()).exists());
}

TEST_F(WorkspaceMarkerTest, ARegularFileNamedLikeTheWorkspaceIsRefused) {
  std::ofstream(root / "file") << "data";
  RuntimeStore store(root, protocol::RuntimeId::parse("file").value());
  EXPECT_FALSE(store.exists());
  EXPECT_FALSE(store.create());
  EXPECT_EQ(*read_file(root / "file"), "data");
}

TEST_F(WorkspaceMarkerTest, TheStateDirsOwnFoldersAreReservedNames) {
  for (const char* name : {"images", "locks", "workspaces", "cache", "tmp"}) {
    RuntimeStore store(root, protocol::RuntimeId::parse(name).value());
    auto created = store.create();
    ASSERT_FALSE(created) << name;
    EXPECT_EQ(created.error().code, ErrorCode::invalid_request) << name;
    EXPECT_FALSE(fs::exists(root / name / RuntimeStore::kMarkerName)) << name;
  }
}

}  // namespace
}  // namespace microagent::supervisor
