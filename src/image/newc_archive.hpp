#pragma once
// A reproducible cpio "newc" archive (the initramfs format, Linux
// Documentation/driver-api/early-userspace/buffer-format.rst) written with
// libarchive: every entry is owned by 0:0 with mtime 0 and inode numbers
// assigned in insertion order, so equal inputs give byte-identical output.
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace microagent::image {

struct NewcNode {
  enum class Kind { directory, file, symlink, char_device };
  Kind kind = Kind::file;
  unsigned mode = 0644;  // permission bits only
  std::string data;      // file contents or symlink target
  unsigned dev_major = 0, dev_minor = 0;
};

// The archive's tree: paths are relative ("dev/console"), parents implied.
// Written in path order, which puts every directory before its children.
class NewcTree {
 public:
  // conflict when the path is taken (or a parent is not a directory);
  // invalid_request when the path is absolute-escaping or empty.
  Result<void> add(std::string_view path, NewcNode node);
  bool contains(std::string_view path) const;
  // Writes the archive to `fd` (optionally gzip with no timestamp).
  Result<void> write(int fd, bool gzip) const;

 private:
  Result<std::string> normalize(std::string_view path) const;
  std::map<std::string, NewcNode, std::less<>> nodes_;
};

}  // namespace microagent::image
