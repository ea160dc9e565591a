#pragma once
// Shared helpers for the image unit tests.
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace microagent::image::testing {

// A fresh directory under $TMPDIR, removed at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ma-image-test-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline void write_text(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

struct ArchiveMember {
  std::string path;
  std::string contents;
  unsigned mode = 0644;
  unsigned type = AE_IFREG;
};

// Builds an archive in memory: format/filter setters chosen by the caller.
template <class Configure>
std::string build_archive(const std::vector<ArchiveMember>& members, Configure configure) {
  archive* a = archive_write_new();
  configure(a);
  std::vector<char> buffer(64 << 20);
  size_t used = 0;
  EXPECT_EQ(archive_write_open_memory(a, buffer.data(), buffer.size(), &used), ARCHIVE_OK) << archive_error_string(a);
  for (const auto& m : members) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, m.path.c_str());
    archive_entry_set_filetype(e, m.type);
    archive_entry_set_perm(e, m.mode);
    archive_entry_set_size(e, m.type == AE_IFREG ? static_cast<la_int64_t>(m.contents.size()) : 0);
    if (m.type == AE_IFLNK) archive_entry_set_symlink(e, m.contents.c_str());
    EXPECT_EQ(archive_write_header(a, e), ARCHIVE_OK) << archive_error_string(a);
    if (m.type == AE_IFREG && !m.contents.empty()) archive_write_data(a, m.contents.data(), m.contents.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return std::string(buffer.data(), used);
}

// A minimal .deb: ar { debian-binary, control.tar.gz, data.tar.xz }.
inline std::string build_deb(const std::string& control, const std::vector<ArchiveMember>& data) {
  std::string control_tar = build_archive({{"./control", control}}, [](archive* a) {
    archive_write_set_format_ustar(a);
    archive_write_add_filter_gzip(a);
  });
  std::string data_tar = build_archive(data, [](archive* a) {
    archive_write_set_format_pax_restricted(a);
    archive_write_add_filter_xz(a);
  });
  return build_archive({{"debian-binary", "2.0\n"}, {"control.tar.gz", control_tar}, {"data.tar.xz", data_tar}},
                       [](archive* a) { archive_write_set_format_ar_svr4(a); });
}

}  // namespace microagent::image::testing
