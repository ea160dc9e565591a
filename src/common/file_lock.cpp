#include "common/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cerrno>
#include <thread>

namespace microagent {

namespace {

// The lock is the file the path names now: a holder may unlink it (delete
// removes a workspace's lock file), and a waiter that then wins the old inode
// holds nothing anyone else will ever contend for.
bool still_named_by(int fd, const std::filesystem::path& path) {
  struct stat held{}, named{};
  return ::fstat(fd, &held) == 0 && ::stat(path.c_str(), &named) == 0 && held.st_dev == named.st_dev &&
         held.st_ino == named.st_ino;
}

}  // namespace

Result<FileLock> FileLock::acquire(const std::filesystem::path& path, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!fd) return fail_errno("open lock " + path.string(), errno);
    for (;;) {
      if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) {
        if (still_named_by(fd.get(), path)) return FileLock(std::move(fd));
        break;  // unlinked or replaced while we waited: lock the file there now
      }
      if (errno != EWOULDBLOCK && errno != EINTR) return fail_errno("flock " + path.string(), errno);
      if (std::chrono::steady_clock::now() >= deadline) {
        return fail(ErrorCode::conflict, "another command holds the lock " + path.string());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

}  // namespace microagent
