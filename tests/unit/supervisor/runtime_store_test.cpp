#include "supervisor/runtime_store.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include <sys/wait.h>
#include <unistd.h>

#include "common/atomic_file.hpp"

namespace microagent::supervisor {
namespace {

protocol::Event event(protocol::State state, std::string detail) {
  protocol::Event e;
  e.identity.runtime_id = "ws";
  e.state = state;
  e.observed_at = "2026-11-23T13:00:00.000Z";
  e.detail = std::move(detail);
  return e;
}

class RuntimeStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = "/tmp/ma-store-XXXXXX";
    root = ::mkdtemp(pattern.data());
  }
  void TearDown() override { std::filesystem::remove_all(root); }
  std::filesystem::path root;
};

TEST_F(RuntimeStoreTest, RecordsHistoryInOrderAndTheLatestEvent) {
  RuntimeStore store(root, protocol::RuntimeId::parse("ws").value());
  ASSERT_TRUE(store.create());
  ASSERT_TRUE(store.record(event(protocol::State::prepared, "a")));
  ASSERT_TRUE(store.record(event(protocol::State::running, "b")));
  ASSERT_TRUE(store.record(event(protocol::State::stopped, "c")));
  auto history = store.history();
  ASSERT_TRUE(history);
  ASSERT_EQ(history->size(), 3u);
  EXPECT_EQ((*history)[0].state, protocol::State::prepared);
  EXPECT_EQ((*history)[2].detail, "c");
  auto latest = store.latest();
  ASSERT_TRUE(latest && *latest);
  EXPECT_EQ((*latest)->state, protocol::State::stopped);
}

TEST_F(RuntimeStoreTest, TornLastHistoryLineIsSkipped) {
  RuntimeStore store(root, protocol::RuntimeId::parse("ws").value());
  ASSERT_TRUE(store.create());
  ASSERT_TRUE(store.record(event(protocol::State::prepared, "a")));
  {
    std::ofstream out(store.events_path(), std::ios::app);
    out << R"({"identity":{"runtimeID":"ws"},"state":"runn)";  // power loss mid-write
  }
  auto history = store.history();
  ASSERT_TRUE(history);
  EXPECT_EQ(history->size(), 1u);
  ASSERT_TRUE(store.record(event(protocol::State::stopped, "after")));
  history = store.history();
  ASSERT_TRUE(history);
  EXPECT_EQ(history->back().detail, "after");
}

TEST_F(RuntimeStoreTest, RuntimeAndResultFiles) {
  RuntimeStore store(root, protocol::RuntimeId::parse("ws").value());
  ASSERT_TRUE(store.create());
  auto empty = store.read_runtime();
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  ASSERT_TRUE(store.write_runtime({{"qemuPid", 42}}));
  EXPECT_EQ((*store.read_runtime())["qemuPid"], 42);
  auto no_result = store.read_result();
  ASSERT_TRUE(no_result);
  EXPECT_FALSE(*no_result);
  ASSERT_TRUE(store.write_result({{"exitCode", 0}}));
  EXPECT_EQ((**store.read_result())["exitCode"], 0);
}

TEST_F(RuntimeStoreTest, ConcurrentWritersNeverInterleaveEvents) {
  RuntimeStore store(root, protocol::RuntimeId::parse("ws").value());
  ASSERT_TRUE(store.create());
  constexpr int kWriters = 3, kEach = 40;
  std::vector<pid_t> children;
  for (int w = 0; w < kWriters; ++w) {
    pid_t pid = ::fork();
    if (pid == 0) {
      for (int i = 0; i < kEach; ++i) {
        if (!store.record(event(protocol::State::running, std::to_string(w) + ":" + std::to_string(i)))) ::_exit(1);
      }
      ::_exit(0);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  auto history = store.history();
  ASSERT_TRUE(history);
  ASSERT_EQ(history->size(), static_cast<size_t>(kWriters * kEach));
  std::vector<int> next(kWriters, 0);
  for (const auto& e : *history) {
    const int writer = std::stoi(e.detail.substr(0, e.detail.find(':')));
    EXPECT_EQ(std::stoi(e.detail.substr(e.detail.find(':') + 1)), next[writer]++) << "writer " << writer << " out of order";
  }
  auto latest = store.latest();
  ASSERT_TRUE(latest && *latest);  // event.json always parses
}

TEST_F(RuntimeStoreTest, LockSerialisesCommands) {
  RuntimeStore store(root, protocol::RuntimeId::parse("ws").value());
  auto first = store.lock();
  ASSERT_TRUE(first);
  // flock is per open file description: a second open in this process contends too.
  auto second = FileLock::acquire(store.lock_path(), std::chrono::milliseconds(100));
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::conflict);
}

}  // namespace
}  // namespace microagent::supervisor
