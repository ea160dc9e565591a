#pragma once
// Filesystem operations confined to one rootfs directory. Every path is
// resolved from the root's directory fd with openat2(RESOLVE_IN_ROOT |
// RESOLVE_NO_MAGICLINKS), so `..` and absolute symlinks stay inside the root,
// and the final component is never followed: image content can name any path
// it likes and still only ever touches files under the root.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace microagent::image {

// An archive entry name as a root-relative path: leading '/' and './' dropped,
// '.' and empty components removed; nullopt when any component is "..".
// "" names the root itself.
std::optional<std::string> normalize_entry_path(std::string_view name);

// The directory that holds a path's last component, and that component.
struct ParentDir {
  UniqueFd dir;      // O_PATH directory fd, inside the root
  std::string leaf;  // never empty, never "." or ".."
};

class RootfsDir {
 public:
  // The directory must exist.
  static Result<RootfsDir> open(const std::filesystem::path& dir);

  int fd() const { return root_.get(); }
  const std::filesystem::path& path() const { return path_; }

  // The parent of `relative` (a normalized, non-empty path). With
  // `create_missing`, absent parent directories are made (0755, root-owned).
  // A parent that resolves through a loop, or is not a directory, is
  // invalid_request; an absent one without `create_missing` is not_found.
  Result<ParentDir> parent_of(std::string_view relative, bool create_missing) const;
  // An existing directory (O_RDONLY, so it can be listed, chmod'ed, xattr'ed).
  Result<UniqueFd> open_directory(std::string_view relative) const;
  // An existing regular file for reading (symlinks resolve inside the root).
  Result<UniqueFd> open_regular_file(std::string_view relative) const;

 private:
  RootfsDir(UniqueFd root, std::filesystem::path path) : root_(std::move(root)), path_(std::move(path)) {}
  Result<UniqueFd> resolve(std::string_view relative, int flags) const;

  UniqueFd root_;
  std::filesystem::path path_;
};

// Removes `name` inside `dir` (recursively for directories), never following
// symlinks. An absent name is not an error.
Result<void> remove_entry_at(int dir, const std::string& name);

}  // namespace microagent::image
