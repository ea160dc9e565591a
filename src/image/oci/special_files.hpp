#pragma once
// Image files that must never exist as such on the host: character and block
// devices, FIFOs, and the setuid/setgid bits of regular files. A rootfs on the
// host holds, in their place, an empty 0600 root-owned regular file (devices,
// FIFOs) or the file with its setuid/setgid bits cleared; the record says what
// the guest must see, and the root disk build applies it inside the ext4 image
// (store/special_files_script.hpp). Layers that replace or white out a path
// drop its records, so the records always describe the final tree.
//
// Paths are where the stand-in really is, relative to the root, with every
// symlink of the entry's name resolved (the host tree and the ext4 image built
// from it agree on such a path). A path a debugfs script cannot name
// (image/debugfs_script.hpp) is never recorded: the device is left out, or the
// file keeps its bits cleared, and a warning says so.
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "image/oci/rootfs_dir.hpp"

namespace microagent::image {

enum class SpecialKind { char_device, block_device, fifo, setid_file };
std::string_view to_string(SpecialKind kind);
// The S_IF* file type bits of a node of this kind (S_IFREG for a set-id file).
mode_t file_type_bits(SpecialKind kind);
std::optional<SpecialKind> special_kind_from_string(std::string_view text);

struct SpecialFile {
  std::string path;  // rootfs-relative, symlink-free ("dev/null")
  SpecialKind kind = SpecialKind::fifo;
  std::uint32_t major = 0;  // devices only
  std::uint32_t minor = 0;
  std::uint32_t mode = 0;   // permission bits, setuid/setgid/sticky included (07777)
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::int64_t mtime = 0;
  // The host inode standing in for it, to notice a stand-in that was replaced
  // behind the records' back. Not stored.
  dev_t host_dev = 0;
  ino_t host_ino = 0;
};

// The records of one rootfs, sorted by path (so scripts built from them are
// the same for the same tree), and the warnings of what could not be kept.
class SpecialFiles {
 public:
  void record(SpecialFile file);
  // Drops the record of `path` and of everything below it.
  void forget(std::string_view path);
  // Drops the record of `path` alone (a directory now stands there).
  void forget_exact(std::string_view path);
  const SpecialFile* find(std::string_view path) const;
  void warn(std::string message) { warnings_.push_back(std::move(message)); }

  // Drops every record whose stand-in is no longer an empty regular file (or
  // the same inode) at exactly that path.
  void drop_stale(const RootfsDir& root);

  const std::map<std::string, SpecialFile, std::less<>>& files() const { return files_; }
  const std::vector<std::string>& warnings() const { return warnings_; }
  bool empty() const { return files_.empty() && warnings_.empty(); }

 private:
  std::map<std::string, SpecialFile, std::less<>> files_;
  std::vector<std::string> warnings_;
};

// special-files.json beside record.json in an image's store directory.
inline constexpr const char* kSpecialFilesName = "special-files.json";
nlohmann::json to_json(const SpecialFiles& specials);
// Refuses (internal) records whose path a debugfs script could not name: the
// file was written by us, so such a record means it was tampered with.
Result<SpecialFiles> special_files_from_json(const std::string& text);

// A name fit for a warning a terminal shows: control bytes as \xNN.
std::string printable_path(std::string_view path);

// `dir` (a directory fd inside `root`) as a root-relative path ("" for the
// root itself), read back from the kernel so symlinks are resolved.
Result<std::string> root_relative_dir(const RootfsDir& root, int dir);

}  // namespace microagent::image
