#include "common/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <random>

#include "common/unique_fd.hpp"

namespace microagent {
namespace {

Result<void> write_all(int fd, std::string_view data, const std::filesystem::path& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("write " + path.string(), errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

}  // namespace

std::string temp_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return ".tmp." + std::to_string(::getpid()) + "." + std::to_string(rng() % 1000000000);
}

Result<void> write_file_durable(const std::filesystem::path& path, std::string_view contents, unsigned mode) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd) return fail_errno("create " + path.string(), errno);
  if (auto ok = write_all(fd.get(), contents, path); !ok) return ok;
  // O_CREAT's mode is filtered by the umask; the caller asked for exactly `mode`.
  if (::fchmod(fd.get(), mode) != 0) return fail_errno("chmod " + path.string(), errno);
  if (::fsync(fd.get()) != 0) return fail_errno("fsync " + path.string(), errno);
  return {};
}

Result<void> fsync_directory(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return fail_errno("open directory " + dir.string(), errno);
  if (::fsync(fd.get()) != 0) return fail_errno("fsync " + dir.string(), errno);
  return {};
}

Result<void> write_file_atomic(const std::filesystem::path& path, std::string_view contents, unsigned mode) {
  const std::filesystem::path temp = path.string() + temp_suffix();
  if (auto ok = write_file_durable(temp, contents, mode); !ok) {
    ::unlink(temp.c_str());
    return ok;
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    return fail_errno("rename " + temp.string() + " -> " + path.string(), err);
  }
  // The rename itself is durable only once the directory entry is on disk.
  fsync_directory(path.has_parent_path() ? path.parent_path() : std::filesystem::path("."));
  return {};
}

Result<void> append_line_durable(const std::filesystem::path& path, std::string_view line) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!fd) return fail_errno("open " + path.string(), errno);
  std::string buffer;
  // A torn last line (power loss mid-append) must not swallow this one: start
  // on a fresh line so only the torn line is lost.
  struct stat st{};
  char last = '\n';
  if (::fstat(fd.get(), &st) == 0 && st.st_size > 0 && ::pread(fd.get(), &last, 1, st.st_size - 1) == 1 && last != '\n') {
    buffer.push_back('\n');
  }
  buffer.append(line);
  buffer.push_back('\n');
  if (auto ok = write_all(fd.get(), buffer, path); !ok) return ok;
  if (::fsync(fd.get()) != 0) return fail_errno("fsync " + path.string(), errno);
  return {};
}

Result<std::string> read_file(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail_errno("open " + path.string(), errno);
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("read " + path.string(), errno);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Result<void> ensure_directory(const std::filesystem::path& path, unsigned mode) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return fail_errno("create directory " + path.string(), ec.value());
  if (mode != 0755) ::chmod(path.c_str(), mode);
  return {};
}

}  // namespace microagent
