#include "image/store/special_files_script.hpp"

#include <sys/stat.h>

#include <algorithm>

#include <fmt/format.h>

#include "image/debugfs_script.hpp"

namespace microagent::image {
namespace {

// debugfs's mknod makes a node in the current directory from a bare name (it
// does not resolve a path), hence the cd around it.
Result<std::string> node_commands(const SpecialFile& f, const std::string& path) {
  const auto slash = f.path.rfind('/');
  const std::string dir = slash == std::string::npos ? std::string() : f.path.substr(0, slash);
  const std::string leaf = slash == std::string::npos ? f.path : f.path.substr(slash + 1);
  auto quoted_dir = debugfs_quote("/" + dir);
  auto quoted_leaf = debugfs_quote(leaf);
  if (!quoted_dir || !quoted_leaf) return fail(ErrorCode::internal, "special file '" + f.path + "' cannot be named");
  std::string kind = "p";
  if (f.kind == SpecialKind::char_device) kind = fmt::format("c {} {}", f.major, f.minor);
  if (f.kind == SpecialKind::block_device) kind = fmt::format("b {} {}", f.major, f.minor);
  return fmt::format("rm {0}\ncd {1}\nmknod {2} {3}\ncd \"/\"\n", path, *quoted_dir, *quoted_leaf, kind);
}

}  // namespace

Result<std::string> special_files_script(const SpecialFiles& specials, std::int64_t fixed_time) {
  std::string script = fmt::format("set_current_time @{}\n", fixed_time);
  for (const auto& [relative, f] : specials.files()) {
    auto path = debugfs_path(relative);
    if (!path) return fail(ErrorCode::internal, "special file '" + relative + "' cannot be named in a debugfs script");
    if (f.kind != SpecialKind::setid_file) {
      auto made = node_commands(f, *path);
      if (!made) return std::unexpected(made.error());
      script += *made;
    }
    script += fmt::format("sif {} mode 0{:o}\n", *path, file_type_bits(f.kind) | (f.mode & 07777));
    if (f.kind == SpecialKind::setid_file) continue;  // mke2fs copied its owner and times already
    script += fmt::format("sif {0} uid {1}\nsif {0} gid {2}\n", *path, f.uid, f.gid);
    // "@-1" would read as an error: times before 1970 become 1970.
    const std::int64_t mtime = std::max<std::int64_t>(f.mtime, 0);
    script += fmt::format("sif {0} atime @{1}\nsif {0} mtime @{1}\nsif {0} ctime @{2}\nsif {0} crtime @{2}\n", *path,
                          mtime, fixed_time);
  }
  return script;
}

std::vector<std::string> debugfs_script_errors(const std::string& err) {
  std::vector<std::string> errors;
  std::size_t start = 0;
  bool first = true;
  while (start < err.size()) {
    std::size_t end = err.find('\n', start);
    if (end == std::string::npos) end = err.size();
    std::string line = err.substr(start, end - start);
    start = end + 1;
    const bool banner = first && line.starts_with("debugfs ");
    first = false;
    if (!banner && !line.empty()) errors.push_back(std::move(line));
  }
  return errors;
}

}  // namespace microagent::image
