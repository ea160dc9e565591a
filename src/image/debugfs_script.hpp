#pragma once
// Safe arguments for `debugfs -f SCRIPT` (e2fsprogs 1.47). Image content names
// files, so a name must reach debugfs as exactly one argument and never as
// script syntax. What debugfs does with a script line (lib/ss/parse.c,
// debugfs/debugfs.c source_file):
//   - lines are read with fgets into a BUFSIZ (8192) buffer: a longer line is
//     cut and its tail runs as a command of its own, and a line that starts
//     with '!' is handed to system(3) on the host;
//   - '\n' ends the line and the first '\r' cuts it;
//   - arguments split at ' ' and '\t'; "..." quotes, and "" inside quotes is
//     one literal '"'. Nothing else is special.
//   - `<N>` names inode N and a leading '-' may read as an option, so paths are
//     always absolute ("/..."), which is neither.
// A name with '\n' or '\r', or too long to quote within a short line, cannot
// be passed at all: the caller leaves it out and says so.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace microagent::image {

// Longest quoted argument we write: two of them plus a command stay far below
// debugfs's 8192-byte line buffer.
inline constexpr std::size_t kMaxDebugfsArgument = 3000;

// `text` as one quoted debugfs argument, or nullopt when it cannot be one.
std::optional<std::string> debugfs_quote(std::string_view text);

// A normalized rootfs-relative path ("a/b", never empty, no "..") as the
// quoted absolute path "/a/b"; nullopt when debugfs cannot take it.
std::optional<std::string> debugfs_path(std::string_view relative);

// Why `relative` cannot be named in a debugfs script ("" when it can).
std::string debugfs_path_problem(std::string_view relative);

}  // namespace microagent::image
