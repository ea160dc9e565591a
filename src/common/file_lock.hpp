#pragma once
#include <chrono>
#include <filesystem>

#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace microagent {

// An exclusive flock(2) held for the object's lifetime. The kernel drops it when
// the holder dies, so a crashed command never leaves a runtime locked.
class FileLock {
 public:
  // Waits up to `timeout` for the lock; conflict when another holder keeps it.
  static Result<FileLock> acquire(const std::filesystem::path& path,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(30));
  FileLock(FileLock&&) = default;
  FileLock& operator=(FileLock&&) = default;

 private:
  explicit FileLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace microagent
