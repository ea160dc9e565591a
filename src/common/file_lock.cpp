#include "common/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <thread>

namespace microagent {

Result<FileLock> FileLock::acquire(const std::filesystem::path& path, std::chrono::milliseconds timeout) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd) return fail_errno("open lock " + path.string(), errno);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) return FileLock(std::move(fd));
    if (errno != EWOULDBLOCK && errno != EINTR) return fail_errno("flock " + path.string(), errno);
    if (std::chrono::steady_clock::now() >= deadline) {
      return fail(ErrorCode::conflict, "another command holds the lock " + path.string());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace microagent
