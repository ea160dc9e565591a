#pragma once
// Helpers for the special-file tests: layer tars with devices, FIFOs, owners
// and hard links (libarchive), an OCI image layout written by hand around
// them (no umoci needed), a scan of a host tree for anything a host must not
// hold, and `debugfs -R` reads of a built ext4 image.
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "common/sha256.hpp"
#include "image/debugfs_script.hpp"
#include "import_test_util.hpp"

namespace microagent::image::testing {

struct Node {
  std::string path;
  unsigned type = AE_IFREG;
  unsigned mode = 0644;
  unsigned major = 0, minor = 0;
  int uid = 0, gid = 0;
  std::string data;
  std::string link;  // symlink target, or hard link target when `hardlink`
  bool hardlink = false;
};

inline Node device(std::string path, unsigned type, unsigned major, unsigned minor, unsigned mode = 0666, int gid = 0) {
  Node n;
  n.path = std::move(path);
  n.type = type;
  n.major = major;
  n.minor = minor;
  n.mode = mode;
  n.gid = gid;
  return n;
}
inline Node fifo(std::string path, unsigned mode = 0600) { return device(std::move(path), AE_IFIFO, 0, 0, mode); }
inline Node file(std::string path, std::string data, unsigned mode = 0644, int uid = 0, int gid = 0) {
  Node n;
  n.path = std::move(path);
  n.data = std::move(data);
  n.mode = mode;
  n.uid = uid;
  n.gid = gid;
  return n;
}
inline Node directory(std::string path, unsigned mode = 0755) {
  Node n = file(std::move(path), "", mode);
  n.type = AE_IFDIR;
  return n;
}
inline Node symlink_to(std::string path, std::string target) {
  Node n = file(std::move(path), "", 0777);
  n.type = AE_IFLNK;
  n.link = std::move(target);
  return n;
}
inline Node hardlink_to(std::string path, std::string target) {
  Node n = file(std::move(path), "");
  n.link = std::move(target);
  n.hardlink = true;
  return n;
}

inline void write_nodes(const fs::path& tar, const std::vector<Node>& nodes) {
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  ASSERT_EQ(archive_write_open_filename(a, tar.c_str()), ARCHIVE_OK);
  for (const Node& n : nodes) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, n.path.c_str());
    archive_entry_set_filetype(e, n.type);
    archive_entry_set_perm(e, n.mode);
    archive_entry_set_uid(e, n.uid);
    archive_entry_set_gid(e, n.gid);
    archive_entry_set_mtime(e, 1700000000, 0);
    archive_entry_set_rdev(e, makedev(n.major, n.minor));
    if (n.type == AE_IFLNK) archive_entry_set_symlink(e, n.link.c_str());
    if (n.hardlink) archive_entry_set_hardlink(e, n.link.c_str());
    archive_entry_set_size(e, n.type == AE_IFREG && !n.hardlink ? static_cast<la_int64_t>(n.data.size()) : 0);
    ASSERT_EQ(archive_write_header(a, e), ARCHIVE_OK) << archive_error_string(a);
    if (!n.data.empty() && !n.hardlink) archive_write_data(a, n.data.data(), n.data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
}

// An OCI image layout at `dir` with these layers (uncompressed: blob digest = diff ID).
inline void write_layout(const fs::path& dir, const std::vector<std::vector<Node>>& layers) {
  fs::create_directories(dir / "blobs/sha256");
  auto blob = [&](const std::string& bytes) {
    const std::string hex = sha256_hex(bytes);
    write_text(dir / "blobs/sha256" / hex, bytes);
    return std::pair{"sha256:" + hex, bytes.size()};
  };
  nlohmann::json diff_ids = nlohmann::json::array(), layer_descriptors = nlohmann::json::array();
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const fs::path tar = dir / ("layer" + std::to_string(i) + ".tar");
    write_nodes(tar, layers[i]);
    auto [digest, size] = blob(read_text(tar));
    fs::remove(tar);
    diff_ids.push_back(digest);
    layer_descriptors.push_back(
        {{"mediaType", "application/vnd.oci.image.layer.v1.tar"}, {"digest", digest}, {"size", size}});
  }
  const nlohmann::json config = {{"architecture", "amd64"}, {"os", "linux"}, {"config", {{"Cmd", {"/bin/sh"}}}},
                                 {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}};
  auto [config_digest, config_size] = blob(config.dump());
  const nlohmann::json manifest = {
      {"schemaVersion", 2},
      {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
      {"config", {{"mediaType", "application/vnd.oci.image.config.v1+json"}, {"digest", config_digest}, {"size", config_size}}},
      {"layers", layer_descriptors}};
  auto [manifest_digest, manifest_size] = blob(manifest.dump());
  write_text(dir / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  const nlohmann::json index = {
      {"schemaVersion", 2},
      {"manifests", {{{"mediaType", "application/vnd.oci.image.manifest.v1+json"}, {"digest", manifest_digest},
                      {"size", manifest_size}, {"annotations", {{"org.opencontainers.image.ref.name", "special"}}}}}}};
  write_text(dir / "index.json", index.dump());
}

// Every entry under `root` that a host tree must never hold: a device, FIFO
// or socket, or a non-directory with a setuid/setgid bit.
inline std::vector<std::string> host_hazards(const fs::path& root) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); it != fs::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st{};
    if (::lstat(it->path().c_str(), &st) != 0) continue;
    const bool node = S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode);
    const bool setid = !S_ISDIR(st.st_mode) && (st.st_mode & (S_ISUID | S_ISGID));
    if (node || setid) out.push_back(it->path().string());
  }
  return out;
}

// `debugfs -R "stat /PATH"` on an ext4 image: its stdout (empty when absent).
inline std::string image_stat(const fs::path& image, const std::string& relative) {
  auto quoted = debugfs_quote("/" + relative);
  EXPECT_TRUE(quoted) << relative;
  auto out = microagent::run_command({"debugfs", "-R", "stat " + quoted.value_or("/"), image.string()});
  EXPECT_TRUE(out.has_value());
  return out ? out->out : std::string();
}

inline std::string image_ls(const fs::path& image, const std::string& relative) {
  auto out = microagent::run_command({"debugfs", "-R", "ls -l " + debugfs_quote("/" + relative).value_or("/"),
                                      image.string()});
  return out ? out->out : std::string();
}

}  // namespace microagent::image::testing
