#include "common/file_lock.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <future>
#include <optional>

namespace microagent {
namespace {

using namespace std::chrono_literals;

struct LockDir {
  LockDir() {
    char pattern[] = "/tmp/ma-lock-XXXXXX";
    path = ::mkdtemp(pattern);
  }
  ~LockDir() { std::filesystem::remove_all(path); }
  std::filesystem::path path;
};

TEST(FileLock, ASecondHolderWaitsThenGetsAConflict) {
  LockDir dir;
  auto first = FileLock::acquire(dir.path / "lock");
  ASSERT_TRUE(first);
  auto second = FileLock::acquire(dir.path / "lock", 100ms);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::conflict);
}

// A holder that unlinks the file (delete does) must not hand a waiter the old
// inode: the waiter locks the file the path names now, so it and a newcomer
// that created that file never both hold "the" lock.
TEST(FileLock, AWaiterDoesNotWinAnUnlinkedLockFile) {
  LockDir dir;
  const auto path = dir.path / "lock";
  std::optional<FileLock> holder;
  {
    auto first = FileLock::acquire(path);
    ASSERT_TRUE(first);
    holder.emplace(std::move(*first));
  }
  auto waiter = std::async(std::launch::async, [&] { return FileLock::acquire(path, 1500ms); });
  std::this_thread::sleep_for(100ms);
  std::filesystem::remove(path);
  auto newcomer = FileLock::acquire(path, 100ms);  // a fresh file: free at once
  ASSERT_TRUE(newcomer) << newcomer.error().message;
  holder.reset();  // the waiter may now flock the unlinked inode, which must not count
  auto waited = waiter.get();
  ASSERT_FALSE(waited) << "two holders of " << path;
  EXPECT_EQ(waited.error().code, ErrorCode::conflict);
}

}  // namespace
}  // namespace microagent
