#pragma once
// Crash-safe file writes (DESIGN.md section 3): a reader sees the old content or
// the new, never a torn file, and an append survives power loss once it returns.
#include <filesystem>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace microagent {

// Creates or truncates `path`, writes `contents`, fsyncs. Not atomic by itself:
// callers write a temp name (or into a temp directory) and rename.
Result<void> write_file_durable(const std::filesystem::path& path, std::string_view contents, unsigned mode = 0644);
// fsync a directory so a rename inside it survives a crash.
Result<void> fsync_directory(const std::filesystem::path& dir);
// A random suffix for temp names that concurrent processes share a directory with.
std::string temp_suffix();

// temp file in the same directory, fsync, rename over `path`, fsync the directory.
Result<void> write_file_atomic(const std::filesystem::path& path, std::string_view contents,
                               unsigned mode = 0644);
// Appends `line` plus '\n' with O_APPEND in one write, then fsyncs.
Result<void> append_line_durable(const std::filesystem::path& path, std::string_view line);
Result<std::string> read_file(const std::filesystem::path& path);
// mkdir -p with an explicit error.
Result<void> ensure_directory(const std::filesystem::path& path, unsigned mode = 0755);

}  // namespace microagent
