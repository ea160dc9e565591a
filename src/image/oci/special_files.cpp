#include "image/oci/special_files.hpp"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "image/debugfs_script.hpp"

namespace microagent::image {
namespace {

Result<std::string> fd_path(int fd) {
  const std::string link = fmt::format("/proc/self/fd/{}", fd);
  std::string target(PATH_MAX, '\0');
  const ssize_t n = ::readlink(link.c_str(), target.data(), target.size());
  if (n < 0) return fail_errno("read " + link + " (is /proc mounted?)", errno);
  if (static_cast<std::size_t>(n) >= target.size()) {
    return fail(ErrorCode::invalid_request, "a rootfs path is longer than PATH_MAX");
  }
  target.resize(static_cast<std::size_t>(n));
  return target;
}

std::string parent_of_path(std::string_view path) {
  const auto slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string() : std::string(path.substr(0, slash));
}

}  // namespace

mode_t file_type_bits(SpecialKind kind) {
  switch (kind) {
    case SpecialKind::char_device: return S_IFCHR;
    case SpecialKind::block_device: return S_IFBLK;
    case SpecialKind::fifo: return S_IFIFO;
    case SpecialKind::setid_file: return S_IFREG;
  }
  return S_IFREG;
}

std::string_view to_string(SpecialKind kind) {
  switch (kind) {
    case SpecialKind::char_device: return "char-device";
    case SpecialKind::block_device: return "block-device";
    case SpecialKind::fifo: return "fifo";
    case SpecialKind::setid_file: return "setid-file";
  }
  return "unknown";
}

std::optional<SpecialKind> special_kind_from_string(std::string_view text) {
  for (SpecialKind kind : {SpecialKind::char_device, SpecialKind::block_device, SpecialKind::fifo, SpecialKind::setid_file}) {
    if (to_string(kind) == text) return kind;
  }
  return std::nullopt;
}

void SpecialFiles::record(SpecialFile file) {
  const std::string path = file.path;
  files_.insert_or_assign(path, std::move(file));
}

void SpecialFiles::forget(std::string_view path) {
  if (path.empty()) {
    files_.clear();
    return;
  }
  forget_exact(path);
  const std::string below = std::string(path) + "/";
  for (auto it = files_.lower_bound(below); it != files_.end() && it->first.starts_with(below);) it = files_.erase(it);
}

void SpecialFiles::forget_exact(std::string_view path) {
  if (auto it = files_.find(path); it != files_.end()) files_.erase(it);
}

const SpecialFile* SpecialFiles::find(std::string_view path) const {
  auto it = files_.find(path);
  return it == files_.end() ? nullptr : &it->second;
}

void SpecialFiles::drop_stale(const RootfsDir& root) {
  for (auto it = files_.begin(); it != files_.end();) {
    const SpecialFile& file = it->second;
    bool live = false;
    if (auto parent = root.parent_of(file.path, false)) {
      struct stat st{};
      auto where = root_relative_dir(root, parent->dir.get());
      live = where && *where == parent_of_path(file.path) &&
             ::fstatat(parent->dir.get(), parent->leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
             st.st_dev == file.host_dev && st.st_ino == file.host_ino &&
             (file.kind == SpecialKind::setid_file || st.st_size == 0);
    }
    it = live ? std::next(it) : files_.erase(it);
  }
}

nlohmann::json to_json(const SpecialFiles& specials) {
  nlohmann::json files = nlohmann::json::array();
  for (const auto& [path, f] : specials.files()) {
    nlohmann::json j = {{"path", path}, {"type", to_string(f.kind)}, {"mode", f.mode},
                        {"uid", f.uid}, {"gid", f.gid}, {"mtime", f.mtime}};
    if (f.kind == SpecialKind::char_device || f.kind == SpecialKind::block_device) {
      j["major"] = f.major;
      j["minor"] = f.minor;
    }
    files.push_back(std::move(j));
  }
  return {{"files", files}, {"warnings", specials.warnings()}};
}

Result<SpecialFiles> special_files_from_json(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(ErrorCode::internal, "special-files.json is not a JSON object");
  try {
    SpecialFiles out;
    for (const auto& item : j.value("files", nlohmann::json::array())) {
      SpecialFile f;
      f.path = item.at("path").get<std::string>();
      auto kind = special_kind_from_string(item.at("type").get<std::string>());
      if (!kind) return fail(ErrorCode::internal, "special-files.json: unknown type for '" + f.path + "'");
      if (!debugfs_path(f.path)) return fail(ErrorCode::internal, "special-files.json: unusable path '" + f.path + "'");
      f.kind = *kind;
      f.mode = item.at("mode").get<std::uint32_t>() & 07777;
      f.uid = item.at("uid").get<std::uint32_t>();
      f.gid = item.at("gid").get<std::uint32_t>();
      f.mtime = item.value("mtime", std::int64_t{0});
      f.major = item.value("major", std::uint32_t{0});
      f.minor = item.value("minor", std::uint32_t{0});
      out.record(std::move(f));
    }
    for (const auto& w : j.value("warnings", nlohmann::json::array())) out.warn(w.get<std::string>());
    return out;
  } catch (const nlohmann::json::exception& e) {
    return fail(ErrorCode::internal, std::string("special-files.json is malformed: ") + e.what());
  }
}

std::string printable_path(std::string_view path) {
  std::string out;
  for (char c : path) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      out += fmt::format("\\x{:02x}", byte);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Result<std::string> root_relative_dir(const RootfsDir& root, int dir) {
  auto root_path = fd_path(root.fd());
  if (!root_path) return root_path;
  auto dir_path = fd_path(dir);
  if (!dir_path) return dir_path;
  if (*dir_path == *root_path) return std::string();
  const std::string prefix = *root_path == "/" ? "/" : *root_path + "/";
  if (!dir_path->starts_with(prefix)) {
    return fail(ErrorCode::internal, fmt::format("'{}' is not inside the rootfs {}", *dir_path, *root_path));
  }
  return dir_path->substr(prefix.size());
}

}  // namespace microagent::image
