#include "image/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <random>

#include <fmt/format.h>

#include "common/unique_fd.hpp"

namespace microagent::image {

Result<std::string> read_whole_file(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail_errno("cannot open " + path.string(), errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail_errno("cannot stat " + path.string(), errno);
  std::string data;
  data.reserve(static_cast<std::size_t>(st.st_size));
  char buffer[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("cannot read " + path.string(), errno);
    }
    if (n == 0) break;
    data.append(buffer, static_cast<std::size_t>(n));
  }
  return data;
}

Result<void> write_file_synced(const std::filesystem::path& path, std::string_view data, unsigned mode) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd) return fail_errno("cannot create " + path.string(), errno);
  while (!data.empty()) {
    ssize_t n = ::write(fd.get(), data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("cannot write " + path.string(), errno);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::fchmod(fd.get(), mode) != 0) return fail_errno("cannot chmod " + path.string(), errno);
  if (::fsync(fd.get()) != 0) return fail_errno("cannot fsync " + path.string(), errno);
  return {};
}

Result<void> fsync_directory(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return fail_errno("cannot open directory " + dir.string(), errno);
  if (::fsync(fd.get()) != 0) return fail_errno("cannot fsync " + dir.string(), errno);
  return {};
}

std::string temp_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{}-{:016x}", ::getpid(), rng());
}

}  // namespace microagent::image
