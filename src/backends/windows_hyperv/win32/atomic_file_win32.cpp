// common/atomic_file.hpp on Windows: the same crash-safety contract with
// FlushFileBuffers for fsync and MoveFileExW(REPLACE_EXISTING | WRITE_THROUGH)
// for the atomic rename. Modes are POSIX-only and ignored.
#include "common/atomic_file.hpp"

#include "backends/windows_hyperv/win32/windows_headers.hpp"

#include <random>

#include "backends/windows_hyperv/win32/win32_error.hpp"

namespace microagent {
namespace {

using windows_hyperv::win32::fail_win32;

struct FileHandle {
  HANDLE handle = INVALID_HANDLE_VALUE;
  ~FileHandle() {
    if (handle != INVALID_HANDLE_VALUE) CloseHandle(handle);
  }
};

Result<void> write_all(HANDLE handle, std::string_view data, const std::filesystem::path& path) {
  while (!data.empty()) {
    DWORD written = 0;
    const DWORD chunk = static_cast<DWORD>(std::min<std::size_t>(data.size(), 1 << 30));
    if (!WriteFile(handle, data.data(), chunk, &written, nullptr)) return fail_win32("write " + path.string(), GetLastError());
    data.remove_prefix(written);
  }
  return {};
}

}  // namespace

std::string temp_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return ".tmp." + std::to_string(GetCurrentProcessId()) + "." + std::to_string(rng() % 1000000000);
}

Result<void> write_file_durable(const std::filesystem::path& path, std::string_view contents, unsigned mode) {
  (void)mode;
  FileHandle file{CreateFileW(path.wstring().c_str(), GENERIC_WRITE, 0, nullptr, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr)};
  if (file.handle == INVALID_HANDLE_VALUE) return fail_win32("create " + path.string(), GetLastError());
  if (auto ok = write_all(file.handle, contents, path); !ok) return ok;
  if (!FlushFileBuffers(file.handle)) return fail_win32("flush " + path.string(), GetLastError());
  return {};
}

// NTFS journals the rename itself (MOVEFILE_WRITE_THROUGH); nothing to flush.
Result<void> fsync_directory(const std::filesystem::path& dir) {
  (void)dir;
  return {};
}

Result<void> write_file_atomic(const std::filesystem::path& path, std::string_view contents, unsigned mode) {
  const std::filesystem::path temp = path.string() + temp_suffix();
  if (auto ok = write_file_durable(temp, contents, mode); !ok) {
    DeleteFileW(temp.wstring().c_str());
    return ok;
  }
  if (!MoveFileExW(temp.wstring().c_str(), path.wstring().c_str(), MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
    const DWORD err = GetLastError();
    DeleteFileW(temp.wstring().c_str());
    return fail_win32("rename " + temp.string() + " -> " + path.string(), err);
  }
  return {};
}

Result<void> append_line_durable(const std::filesystem::path& path, std::string_view line) {
  FileHandle file{CreateFileW(path.wstring().c_str(), GENERIC_READ | FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE,
                              nullptr, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr)};
  if (file.handle == INVALID_HANDLE_VALUE) return fail_win32("open " + path.string(), GetLastError());
  std::string buffer;
  // A torn last line must not swallow this one: start on a fresh line.
  LARGE_INTEGER size{};
  if (GetFileSizeEx(file.handle, &size) && size.QuadPart > 0) {
    char last = '\n';
    DWORD got = 0;
    OVERLAPPED at{};
    at.Offset = static_cast<DWORD>((size.QuadPart - 1) & 0xffffffff);
    at.OffsetHigh = static_cast<DWORD>((size.QuadPart - 1) >> 32);
    if (ReadFile(file.handle, &last, 1, &got, &at) && got == 1 && last != '\n') buffer.push_back('\n');
  }
  buffer.append(line);
  buffer.push_back('\n');
  if (auto ok = write_all(file.handle, buffer, path); !ok) return ok;
  if (!FlushFileBuffers(file.handle)) return fail_win32("flush " + path.string(), GetLastError());
  return {};
}

Result<std::string> read_file(const std::filesystem::path& path) {
  FileHandle file{CreateFileW(path.wstring().c_str(), GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                              nullptr, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr)};
  if (file.handle == INVALID_HANDLE_VALUE) return fail_win32("open " + path.string(), GetLastError());
  std::string out;
  char buf[65536];
  for (;;) {
    DWORD got = 0;
    if (!ReadFile(file.handle, buf, sizeof buf, &got, nullptr)) return fail_win32("read " + path.string(), GetLastError());
    if (got == 0) break;
    out.append(buf, got);
  }
  return out;
}

Result<void> ensure_directory(const std::filesystem::path& path, unsigned mode) {
  (void)mode;
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return fail(ErrorCode::internal, "create directory " + path.string() + ": " + ec.message());
  return {};
}

}  // namespace microagent
