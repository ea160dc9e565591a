// common/file_lock.hpp on Windows: LockFileEx on the lock file, held until
// the descriptor closes (Windows drops it when the holder dies, like flock).
#include "common/file_lock.hpp"

#include <fcntl.h>
#include <io.h>
#include "backends/windows_hyperv/win32/windows_headers.hpp"

#include <thread>

#include "backends/windows_hyperv/win32/win32_error.hpp"

namespace microagent {

Result<FileLock> FileLock::acquire(const std::filesystem::path& path, std::chrono::milliseconds timeout) {
  UniqueFd fd(::_wopen(path.wstring().c_str(), _O_RDWR | _O_CREAT | _O_BINARY | _O_NOINHERIT, 0644));
  if (!fd) return fail(ErrorCode::internal, "open lock " + path.string());
  const auto handle = reinterpret_cast<HANDLE>(::_get_osfhandle(fd.get()));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    OVERLAPPED at{};
    if (LockFileEx(handle, LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &at)) return FileLock(std::move(fd));
    const DWORD err = GetLastError();
    if (err != ERROR_LOCK_VIOLATION && err != ERROR_IO_PENDING) {
      return windows_hyperv::win32::fail_win32("lock " + path.string(), err);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return fail(ErrorCode::conflict, "another command holds the lock " + path.string());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace microagent
