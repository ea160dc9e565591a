#include "image/kernel_deb.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <vector>

#include "common/unique_fd.hpp"

namespace microagent::image {
namespace {

struct ArchiveReadDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchiveReader = std::unique_ptr<archive, ArchiveReadDeleter>;

// Feeds the current member of the outer `ar` archive to an inner reader.
struct MemberSource {
  archive* outer;
  std::vector<char> buffer = std::vector<char>(1 << 16);
};

la_ssize_t read_member(archive*, void* client, const void** out) {
  auto* source = static_cast<MemberSource*>(client);
  *out = source->buffer.data();
  return archive_read_data(source->outer, source->buffer.data(), source->buffer.size());
}

ArchiveReader open_member_tar(MemberSource& source) {
  ArchiveReader tar(archive_read_new());
  archive_read_support_filter_all(tar.get());
  archive_read_support_format_tar(tar.get());
  if (archive_read_open(tar.get(), &source, nullptr, read_member, nullptr) != ARCHIVE_OK) return nullptr;
  return tar;
}

std::string archive_message(archive* a) {
  const char* text = archive_error_string(a);
  return text ? text : "unknown libarchive error";
}

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

void parse_control(std::string_view text, KernelDebContents& contents) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    auto value = [&](std::string_view key) {
      std::string_view rest = line.substr(key.size());
      while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
      return std::string(rest);
    };
    if (starts_with(line, "Package:")) contents.package = value("Package:");
    if (starts_with(line, "Version:")) contents.version = value("Version:");
    pos = end + 1;
  }
}

Result<void> read_control(archive* tar, KernelDebContents& contents) {
  archive_entry* entry = nullptr;
  int rc;
  while ((rc = archive_read_next_header(tar, &entry)) == ARCHIVE_OK) {
    auto path = safe_relative_path(archive_entry_pathname(entry));
    if (!path || *path != "control") continue;
    std::string text;
    char buffer[8192];
    la_ssize_t n;
    while ((n = archive_read_data(tar, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<std::size_t>(n));
    if (n < 0) return fail(ErrorCode::internal, ".deb control.tar: " + archive_message(tar));
    parse_control(text, contents);
  }
  if (rc != ARCHIVE_EOF) return fail(ErrorCode::internal, ".deb control.tar: " + archive_message(tar));
  return {};
}

Result<void> write_entry(archive* tar, archive_entry* entry, const std::filesystem::path& dest) {
  std::error_code ec;
  std::filesystem::create_directories(dest.parent_path(), ec);
  if (ec) return fail(ErrorCode::internal, "cannot create " + dest.parent_path().string() + ": " + ec.message());
  mode_t mode = (archive_entry_perm(entry) & 0111) ? 0755 : 0644;
  UniqueFd fd(::open(dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!fd) return fail_errno("cannot create " + dest.string(), errno);
  const void* block;
  size_t size;
  la_int64_t offset;
  int rc;
  while ((rc = archive_read_data_block(tar, &block, &size, &offset)) == ARCHIVE_OK) {
    const char* data = static_cast<const char*>(block);
    while (size > 0) {
      ssize_t n = ::pwrite(fd.get(), data, size, offset);
      if (n < 0) {
        if (errno == EINTR) continue;
        return fail_errno("cannot write " + dest.string(), errno);
      }
      data += n;
      size -= static_cast<size_t>(n);
      offset += n;
    }
  }
  if (rc != ARCHIVE_EOF) return fail(ErrorCode::internal, ".deb data.tar: " + archive_message(tar));
  // Sparse tails: the file must have the entry's full size.
  if (archive_entry_size_is_set(entry) && ::ftruncate(fd.get(), archive_entry_size(entry)) != 0) {
    return fail_errno("cannot size " + dest.string(), errno);
  }
  return {};
}

Result<std::size_t> extract_data(archive* tar, const std::filesystem::path& target) {
  std::size_t files = 0;
  archive_entry* entry = nullptr;
  int rc;
  while ((rc = archive_read_next_header(tar, &entry)) == ARCHIVE_OK) {
    const char* raw = archive_entry_pathname(entry);
    std::string_view name = raw ? raw : "";
    auto path = safe_relative_path(name);
    if (!path) {
      return fail(ErrorCode::invalid_request,
                  "refusing .deb entry '" + std::string(name) +
                      "': its path escapes the target directory (hostile or corrupt package)");
    }
    auto dest = kernel_payload_destination(*path);
    if (!dest) continue;
    auto type = archive_entry_filetype(entry);
    if (type == AE_IFDIR) {
      std::error_code ec;
      std::filesystem::create_directories(target / *dest, ec);
      if (ec) return fail(ErrorCode::internal, "cannot create " + (target / *dest).string() + ": " + ec.message());
      continue;
    }
    // Links could point anywhere; the kernel payload needs none of them.
    if (type != AE_IFREG || archive_entry_hardlink(entry) != nullptr) continue;
    if (auto written = write_entry(tar, entry, target / *dest); !written) return std::unexpected(written.error());
    ++files;
  }
  if (rc != ARCHIVE_EOF) return fail(ErrorCode::internal, ".deb data.tar: " + archive_message(tar));
  return files;
}

}  // namespace

std::optional<std::string> safe_relative_path(std::string_view archive_path) {
  if (archive_path.empty() || archive_path.front() == '/') return std::nullopt;
  std::string out;
  std::size_t pos = 0;
  while (pos <= archive_path.size()) {
    std::size_t end = archive_path.find('/', pos);
    if (end == std::string_view::npos) end = archive_path.size();
    std::string_view part = archive_path.substr(pos, end - pos);
    if (part == "..") return std::nullopt;
    if (!part.empty() && part != ".") {
      if (!out.empty()) out.push_back('/');
      out.append(part);
    }
    pos = end + 1;
  }
  return out;
}

std::optional<std::string> kernel_payload_destination(std::string_view path) {
  for (std::string_view prefix : {"boot/vmlinuz-", "boot/config-", "boot/System.map-"}) {
    if (starts_with(path, prefix) && path.size() > prefix.size() && path.find('/', 5) == std::string_view::npos) {
      return std::string(path);
    }
  }
  if (path == "lib/modules" || starts_with(path, "lib/modules/")) return std::string(path);
  if (path == "usr/lib/modules" || starts_with(path, "usr/lib/modules/")) return std::string(path.substr(4));
  return std::nullopt;
}

Result<KernelDebContents> extract_kernel_deb(const std::filesystem::path& deb, const std::filesystem::path& target) {
  ArchiveReader ar(archive_read_new());
  archive_read_support_format_ar(ar.get());
  if (archive_read_open_filename(ar.get(), deb.c_str(), 1 << 16) != ARCHIVE_OK) {
    return fail(ErrorCode::invalid_request, "cannot read " + deb.string() + " as a .deb: " + archive_message(ar.get()));
  }
  KernelDebContents contents;
  bool saw_data = false;
  archive_entry* member = nullptr;
  int rc;
  while ((rc = archive_read_next_header(ar.get(), &member)) == ARCHIVE_OK) {
    std::string_view name = archive_entry_pathname(member);
    bool control = starts_with(name, "control.tar");
    bool data = starts_with(name, "data.tar");
    if (!control && !data) continue;
    MemberSource source{ar.get()};
    ArchiveReader tar = open_member_tar(source);
    if (!tar) return fail(ErrorCode::invalid_request, deb.string() + ": cannot open member " + std::string(name));
    if (control) {
      if (auto read = read_control(tar.get(), contents); !read) return std::unexpected(read.error());
    } else {
      auto files = extract_data(tar.get(), target);
      if (!files) return std::unexpected(files.error());
      contents.files += *files;
      saw_data = true;
    }
  }
  if (rc != ARCHIVE_EOF) {
    return fail(ErrorCode::invalid_request, deb.string() + " is not a valid .deb: " + archive_message(ar.get()));
  }
  if (!saw_data) return fail(ErrorCode::invalid_request, deb.string() + " has no data.tar member: not a .deb");
  return contents;
}

}  // namespace microagent::image
