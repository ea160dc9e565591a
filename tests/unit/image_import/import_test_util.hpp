#pragma once
// Helpers for the image import tests: temp dirs, host tools, hostile tars
// written with libarchive, and byte-for-byte snapshots of directories.
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "common/process.hpp"

namespace microagent::image::testing {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "ma-import-test-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

inline void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

inline std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Runs a host tool; the test fails with its stderr when it does.
inline std::string run_tool(const std::vector<std::string>& argv) {
  auto out = microagent::run_command(argv);
  EXPECT_TRUE(out.has_value()) << argv[0] << ": " << (out ? "" : out.error().message);
  if (!out) return {};
  EXPECT_TRUE(out->status.success()) << argv[0] << " " << (argv.size() > 1 ? argv[1] : "") << ": " << out->err;
  return out->out;
}

struct TarEntry {
  // Positional like an aggregate ({path, type, contents...}), without g++ 12's
  // missing-initializer warnings for the fields left out.
  TarEntry(std::string path_, unsigned type_ = AE_IFREG, std::string contents_ = {}, unsigned mode_ = 0644,
           std::string link_ = {}, bool hardlink_ = false, std::int64_t sparse_size_ = -1)
      : path(std::move(path_)), type(type_), contents(std::move(contents_)), mode(mode_), link(std::move(link_)),
        hardlink(hardlink_), sparse_size(sparse_size_) {}
  std::string path;
  unsigned type = AE_IFREG;
  std::string contents;
  unsigned mode = 0644;
  std::string link;                 // symlink target or hard link target
  bool hardlink = false;
  std::int64_t sparse_size = -1;    // >= 0: a sparse file of this size with `contents` at offset 0
};

// Writes a pax tar (pax keeps sparse maps and long names) with exactly these entries.
inline void write_tar(const fs::path& file, const std::vector<TarEntry>& entries) {
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  ASSERT_EQ(archive_write_open_filename(a, file.c_str()), ARCHIVE_OK);
  for (const auto& e : entries) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, e.path.c_str());
    archive_entry_set_filetype(entry, e.type);
    archive_entry_set_perm(entry, e.mode);
    archive_entry_set_mtime(entry, 1700000000, 0);
    if (e.type == AE_IFLNK) archive_entry_set_symlink(entry, e.link.c_str());
    if (e.hardlink) archive_entry_set_hardlink(entry, e.link.c_str());
    std::int64_t size = e.type == AE_IFREG && !e.hardlink ? static_cast<std::int64_t>(e.contents.size()) : 0;
    if (e.sparse_size >= 0) size = e.sparse_size;
    archive_entry_set_size(entry, size);
    // After the size: libarchive drops a sparse region past the entry's end.
    if (e.sparse_size >= 0) archive_entry_sparse_add_entry(entry, 0, static_cast<la_int64_t>(e.contents.size()));
    ASSERT_EQ(archive_write_header(a, entry), ARCHIVE_OK) << archive_error_string(a);
    if (!e.contents.empty()) archive_write_data(a, e.contents.data(), e.contents.size());
    archive_entry_free(entry);
  }
  archive_write_close(a);
  archive_write_free(a);
}

// path -> "type mode uid gid size content-or-target" for every entry below `root`.
inline std::map<std::string, std::string> snapshot(const fs::path& root) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); it != fs::recursive_directory_iterator(); ++it) {
    struct stat st{};
    ::lstat(it->path().c_str(), &st);
    std::string value = std::to_string(st.st_mode) + " " + std::to_string(st.st_uid) + " " + std::to_string(st.st_gid);
    if (S_ISREG(st.st_mode)) value += " " + read_text(it->path());
    if (S_ISLNK(st.st_mode)) value += " -> " + fs::read_symlink(it->path()).string();
    out[fs::relative(it->path(), root).string()] = value;
  }
  return out;
}

}  // namespace microagent::image::testing
