#include "image/oci/tree_digest.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include <fmt/format.h>

#include "common/unique_fd.hpp"
#include "image/oci/digest.hpp"

namespace microagent::image {
namespace {

char type_letter(mode_t mode) {
  if (S_ISREG(mode)) return 'f';
  if (S_ISDIR(mode)) return 'd';
  if (S_ISLNK(mode)) return 'l';
  if (S_ISCHR(mode)) return 'c';
  if (S_ISBLK(mode)) return 'b';
  if (S_ISFIFO(mode)) return 'p';
  return 's';
}

Result<std::string> file_digest(int fd, const std::string& path) {
  StreamingSha256 hash;
  std::vector<char> buffer(1 << 16);
  for (;;) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("read " + path, errno);
    if (n == 0) break;
    hash.update(buffer.data(), static_cast<std::size_t>(n));
  }
  return hash.finish_digest();
}

// Sorted "name=hex" pairs; `fd` is the entry itself (files, dirs) or -1 for
// the others, whose xattrs are read by path without following.
std::string xattr_text(int fd, const std::string& full_path) {
  std::vector<char> names(65536);
  ssize_t n = fd >= 0 ? ::flistxattr(fd, names.data(), names.size())
                      : ::llistxattr(full_path.c_str(), names.data(), names.size());
  if (n <= 0) return {};
  std::vector<std::string> pairs;
  for (const char* p = names.data(); p < names.data() + n; p += std::char_traits<char>::length(p) + 1) {
    std::vector<char> value(65536);
    ssize_t len = fd >= 0 ? ::fgetxattr(fd, p, value.data(), value.size())
                          : ::lgetxattr(full_path.c_str(), p, value.data(), value.size());
    std::string hex;
    for (ssize_t i = 0; i < len; ++i) hex += fmt::format("{:02x}", static_cast<unsigned char>(value[i]));
    pairs.push_back(std::string(p) + "=" + hex);
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& pair : pairs) out += pair + ";";
  return out;
}

struct Walker {
  std::filesystem::path root;
  const SpecialFiles& specials;
  StreamingSha256 hash;
  TreeSummary summary;

  Result<void> visit(int parent, const std::string& name, const std::string& path) {
    struct stat st{};
    if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return fail_errno("stat " + path, errno);
    const SpecialFile* special = path.empty() ? nullptr : specials.find(path);
    if (special && S_ISREG(st.st_mode)) {
      // The tree as the guest will see it: the record, not its stand-in.
      st.st_mode = file_type_bits(special->kind) | special->mode;
      st.st_uid = special->uid;
      st.st_gid = special->gid;
      st.st_rdev = makedev(special->major, special->minor);
    }
    const std::string full = (root / path).string();
    std::string payload;
    UniqueFd fd;
    if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
      fd.reset(::openat(parent, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0)));
      if (!fd) return fail_errno("open " + full, errno);
    }
    if (S_ISREG(st.st_mode)) {
      auto digest = file_digest(fd.get(), full);
      if (!digest) return std::unexpected(digest.error());
      payload = fmt::format("{}:{}", st.st_size, *digest);
      summary.content_bytes += static_cast<std::uint64_t>(st.st_size);
    } else if (S_ISLNK(st.st_mode)) {
      std::vector<char> target(PATH_MAX + 1);
      ssize_t n = ::readlinkat(parent, name.c_str(), target.data(), target.size());
      if (n < 0) return fail_errno("readlink " + full, errno);
      payload.assign(target.data(), static_cast<std::size_t>(n));
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      payload = fmt::format("{}:{}", major(st.st_rdev), minor(st.st_rdev));
    }
    std::string record;
    for (const std::string& field :
         {path.empty() ? std::string(".") : path, std::string(1, type_letter(st.st_mode)),
          fmt::format("{:o}", st.st_mode & 07777), std::to_string(st.st_uid), std::to_string(st.st_gid), payload,
          xattr_text(fd.get(), full)}) {
      record += field;
      record.push_back('\0');
    }
    record.push_back('\n');
    hash.update(record.data(), record.size());
    ++summary.entries;
    if (!S_ISDIR(st.st_mode)) return {};

    DIR* listing = ::fdopendir(::dup(fd.get()));
    if (!listing) return fail_errno("list " + full, errno);
    std::vector<std::string> children;
    while (dirent* e = ::readdir(listing)) {
      std::string_view n = e->d_name;
      if (n != "." && n != "..") children.emplace_back(n);
    }
    ::closedir(listing);
    std::sort(children.begin(), children.end());
    for (const std::string& child : children) {
      if (auto done = visit(fd.get(), child, path.empty() ? child : path + "/" + child); !done) return done;
    }
    return {};
  }
};

}  // namespace

Result<TreeSummary> digest_tree(const std::filesystem::path& tree, const SpecialFiles& specials) {
  std::filesystem::path root = tree.lexically_normal();
  if (!root.has_filename()) root = root.parent_path();
  Walker walker{root, specials, {}, {}};
  UniqueFd parent(::open(root.parent_path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!parent) return fail_errno("open " + root.parent_path().string(), errno);
  if (auto done = walker.visit(parent.get(), root.filename().string(), ""); !done) return std::unexpected(done.error());
  walker.summary.digest = walker.hash.finish_digest();
  return walker.summary;
}

}  // namespace microagent::image
