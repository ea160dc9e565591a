#pragma once
// Whole-file reads and durable writes used by the kernel and initramfs caches.
#include <filesystem>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace microagent::image {

Result<std::string> read_whole_file(const std::filesystem::path& path);
// Creates or truncates `path`, writes `data`, fsyncs. Not atomic by itself:
// callers write into a temp name or a temp directory and rename.
Result<void> write_file_synced(const std::filesystem::path& path, std::string_view data, unsigned mode = 0644);
// fsync a directory so a rename inside it survives a crash.
Result<void> fsync_directory(const std::filesystem::path& dir);
// A random suffix for temp names shared by concurrent processes.
std::string temp_suffix();

}  // namespace microagent::image
