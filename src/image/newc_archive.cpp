#include "image/newc_archive.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include "image/kernel_deb.hpp"
#include "image/archive_error.hpp"

namespace microagent::image {
namespace {

struct ArchiveWriteDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

}  // namespace

Result<std::string> NewcTree::normalize(std::string_view path) const {
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  auto safe = safe_relative_path(path);
  if (!safe || safe->empty()) {
    return fail(ErrorCode::invalid_request, "initramfs path '" + std::string(path) + "' is empty or escapes the root");
  }
  return *safe;
}

bool NewcTree::contains(std::string_view path) const {
  auto normal = normalize(path);
  return normal && nodes_.contains(*normal);
}

Result<void> NewcTree::add(std::string_view raw_path, NewcNode node) {
  auto path = normalize(raw_path);
  if (!path) return std::unexpected(path.error());
  // Implied parents: 0755 directories.
  for (std::size_t slash = path->find('/'); slash != std::string::npos; slash = path->find('/', slash + 1)) {
    std::string parent = path->substr(0, slash);
    auto it = nodes_.find(parent);
    if (it == nodes_.end()) {
      nodes_.emplace(parent, NewcNode{NewcNode::Kind::directory, 0755, {}, 0, 0});
    } else if (it->second.kind != NewcNode::Kind::directory) {
      return fail(ErrorCode::conflict, "initramfs path '" + *path + "' lies under '" + parent + "', which is not a directory");
    }
  }
  auto [it, inserted] = nodes_.emplace(*path, node);
  if (!inserted) {
    // Declaring an existing directory again is harmless; anything else is a clash.
    if (node.kind == NewcNode::Kind::directory && it->second.kind == NewcNode::Kind::directory) {
      it->second.mode = node.mode;
      return {};
    }
    return fail(ErrorCode::conflict, "initramfs path '" + *path + "' is added twice");
  }
  return {};
}

Result<void> NewcTree::write(int fd, bool gzip) const {
  std::unique_ptr<archive, ArchiveWriteDeleter> a(archive_write_new());
  archive_write_set_format_cpio_newc(a.get());
  if (gzip) {
    if (archive_write_add_filter_gzip(a.get()) != ARCHIVE_OK) {
      return fail(ErrorCode::unsupported, "libarchive has no gzip support: " + archive_message(a.get()));
    }
    // "!timestamp": no mtime in the gzip header, or two builds would differ.
    archive_write_set_filter_option(a.get(), "gzip", "timestamp", nullptr);
  }
  // No padding to libarchive's 10 KiB blocks: the kernel needs none.
  archive_write_set_bytes_in_last_block(a.get(), 1);
  if (archive_write_open_fd(a.get(), fd) != ARCHIVE_OK) {
    return fail(ErrorCode::internal, "cannot start the initramfs archive: " + archive_message(a.get()));
  }
  unsigned ino = 1;
  for (const auto& [path, node] : nodes_) {
    std::unique_ptr<archive_entry, EntryDeleter> entry(archive_entry_new());
    archive_entry_set_pathname(entry.get(), path.c_str());
    archive_entry_set_uid(entry.get(), 0);
    archive_entry_set_gid(entry.get(), 0);
    archive_entry_set_mtime(entry.get(), 0, 0);
    archive_entry_set_ino(entry.get(), ino++);
    archive_entry_set_perm(entry.get(), node.mode & 07777);
    archive_entry_set_nlink(entry.get(), node.kind == NewcNode::Kind::directory ? 2 : 1);
    switch (node.kind) {
      case NewcNode::Kind::directory:
        archive_entry_set_filetype(entry.get(), AE_IFDIR);
        archive_entry_set_size(entry.get(), 0);
        break;
      case NewcNode::Kind::file:
        archive_entry_set_filetype(entry.get(), AE_IFREG);
        archive_entry_set_size(entry.get(), static_cast<la_int64_t>(node.data.size()));
        break;
      case NewcNode::Kind::symlink:
        archive_entry_set_filetype(entry.get(), AE_IFLNK);
        archive_entry_set_symlink(entry.get(), node.data.c_str());
        archive_entry_set_size(entry.get(), 0);
        break;
      case NewcNode::Kind::char_device:
        archive_entry_set_filetype(entry.get(), AE_IFCHR);
        archive_entry_set_rdevmajor(entry.get(), node.dev_major);
        archive_entry_set_rdevminor(entry.get(), node.dev_minor);
        archive_entry_set_size(entry.get(), 0);
        break;
    }
    if (archive_write_header(a.get(), entry.get()) < ARCHIVE_OK) {
      return fail(ErrorCode::internal, "cannot add " + path + " to the initramfs: " + archive_message(a.get()));
    }
    if (node.kind == NewcNode::Kind::file && !node.data.empty()) {
      if (archive_write_data(a.get(), node.data.data(), node.data.size()) != static_cast<la_ssize_t>(node.data.size())) {
        return fail(ErrorCode::internal, "cannot write " + path + " into the initramfs: " + archive_message(a.get()));
      }
    }
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    return fail(ErrorCode::internal, "cannot finish the initramfs archive: " + archive_message(a.get()));
  }
  return {};
}

}  // namespace microagent::image
