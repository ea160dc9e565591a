#include "image/initramfs.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <map>

#include "image/module_order.hpp"
#include "image_test_util.hpp"

namespace microagent::image {
namespace {

using testing::read_text;
using testing::TempDir;
using testing::write_text;

struct ReadEntry {
  unsigned type = 0, perm = 0;
  long uid = -1, gid = -1, mtime = -1;
  std::string data, symlink;
  unsigned dev_major = 0, dev_minor = 0;
};

std::map<std::string, ReadEntry> read_cpio(const std::filesystem::path& path) {
  std::map<std::string, ReadEntry> entries;
  archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_cpio(a);
  EXPECT_EQ(archive_read_open_filename(a, path.c_str(), 1 << 16), ARCHIVE_OK) << archive_error_string(a);
  archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    ReadEntry r;
    r.type = archive_entry_filetype(e);
    r.perm = archive_entry_perm(e);
    r.uid = archive_entry_uid(e);
    r.gid = archive_entry_gid(e);
    r.mtime = archive_entry_mtime(e);
    if (archive_entry_symlink(e)) r.symlink = archive_entry_symlink(e);
    r.dev_major = archive_entry_rdevmajor(e);
    r.dev_minor = archive_entry_rdevminor(e);
    char buffer[65536];
    la_ssize_t n;
    while ((n = archive_read_data(a, buffer, sizeof buffer)) > 0) r.data.append(buffer, static_cast<size_t>(n));
    entries[archive_entry_pathname(e)] = r;
  }
  archive_read_free(a);
  return entries;
}

// A fake kernel module tree with a diamond: c needs a and b, b needs a.
class InitramfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    modules = dir.path() / "lib/modules/6.1.0-test";
    write_text(modules / "modules.dep",
               "kernel/x/a.ko:\nkernel/x/b.ko: kernel/x/a.ko\nkernel/y/c.ko: kernel/x/b.ko kernel/x/a.ko\n");
    write_text(modules / "modules.builtin", "kernel/fs/ext4/ext4.ko\n");
    write_text(modules / "kernel/x/a.ko", "module-a");
    write_text(modules / "kernel/x/b.ko", "module-b");
    write_text(modules / "kernel/y/c.ko", "module-c");
    init = dir.path() / "guestinit";
    write_text(init, "\x7f" "ELF fake init");
    spec.guest_init = init;
    spec.modules_dir = modules;
    spec.kernel_release = "6.1.0-test";
    spec.modules = {"c", "ext4", "a"};
    spec.extra_files = {{"/microagent/config.json", "{\"command\":[\"true\"]}", 0600}};
  }
  TempDir dir;
  std::filesystem::path modules, init;
  InitramfsSpec spec;
};

TEST_F(InitramfsTest, LayoutModesNodesAndModuleOrder) {
  auto out = dir.path() / "initrd.cpio";
  auto written = write_initramfs(spec, out);
  ASSERT_TRUE(written) << written.error().message;
  auto entries = read_cpio(out);

  for (const auto& [path, e] : entries) {
    EXPECT_EQ(e.uid, 0) << path;
    EXPECT_EQ(e.gid, 0) << path;
    EXPECT_EQ(e.mtime, 0) << path;
  }
  ASSERT_TRUE(entries.contains("init"));
  EXPECT_EQ(entries["init"].type, static_cast<unsigned>(AE_IFREG));
  EXPECT_EQ(entries["init"].perm, 0755u);
  EXPECT_EQ(entries["init"].data, read_text(init));
  for (const char* d : {"dev", "proc", "sys", "tmp", "run", "mnt", "root", "etc"}) {
    ASSERT_TRUE(entries.contains(d)) << d;
    EXPECT_EQ(entries[d].type, static_cast<unsigned>(AE_IFDIR)) << d;
  }
  EXPECT_EQ(entries["tmp"].perm, 01777u);
  EXPECT_EQ(entries["dev/console"].type, static_cast<unsigned>(AE_IFCHR));
  EXPECT_EQ(entries["dev/console"].dev_major, 5u);
  EXPECT_EQ(entries["dev/console"].dev_minor, 1u);
  EXPECT_EQ(entries["dev/null"].type, static_cast<unsigned>(AE_IFCHR));
  EXPECT_EQ(entries["dev/null"].dev_major, 1u);
  EXPECT_EQ(entries["dev/null"].dev_minor, 3u);

  EXPECT_EQ(entries["microagent/modules.order"].data, "kernel/x/a.ko\nkernel/x/b.ko\nkernel/y/c.ko\n");
  EXPECT_EQ(entries["lib/modules/6.1.0-test/kernel/x/b.ko"].data, "module-b");
  EXPECT_EQ(entries["lib/modules/6.1.0-test/kernel/y/c.ko"].perm, 0644u);
  EXPECT_EQ(entries["lib/modules/6.1.0-test/kernel/y"].type, static_cast<unsigned>(AE_IFDIR));
  EXPECT_EQ(entries["microagent/config.json"].data, "{\"command\":[\"true\"]}");
  EXPECT_EQ(entries["microagent/config.json"].perm, 0600u);
  EXPECT_FALSE(entries.contains("bin/busybox"));
}

TEST_F(InitramfsTest, ReproducibleByteForByte) {
  for (bool gzip : {false, true}) {
    spec.gzip = gzip;
    auto a = dir.path() / "one", b = dir.path() / "two";
    ASSERT_TRUE(write_initramfs(spec, a));
    ASSERT_TRUE(write_initramfs(spec, b));
    EXPECT_TRUE(read_text(a) == read_text(b)) << "gzip=" << gzip;
    if (gzip) {
      EXPECT_EQ(read_text(a).substr(0, 2), "\x1f\x8b");
    }
    EXPECT_EQ(read_cpio(a).size(), read_cpio(b).size());
  }
}

TEST_F(InitramfsTest, BusyboxWithRelativeAppletLinks) {
  if (!std::filesystem::exists(kHostBusyboxStatic)) GTEST_SKIP() << "busybox-static not installed";
  spec.busybox = kHostBusyboxStatic;
  auto out = dir.path() / "bb.cpio";
  auto written = write_initramfs(spec, out);
  ASSERT_TRUE(written) << written.error().message;
  auto entries = read_cpio(out);
  ASSERT_TRUE(entries.contains("bin/busybox"));
  EXPECT_EQ(entries["bin/busybox"].perm, 0755u);
  EXPECT_EQ(entries["bin/busybox"].data, read_text(kHostBusyboxStatic));
  ASSERT_TRUE(entries.contains("bin/sh"));
  EXPECT_EQ(entries["bin/sh"].type, static_cast<unsigned>(AE_IFLNK));
  EXPECT_EQ(entries["bin/sh"].symlink, "busybox");
  ASSERT_TRUE(entries.contains("sbin/poweroff"));
  EXPECT_EQ(entries["sbin/poweroff"].symlink, "../bin/busybox");
  for (const auto& [path, e] : entries) {
    if (e.type != AE_IFLNK) continue;
    // Every link resolves to bin/busybox, relative to its own directory.
    auto resolved = (std::filesystem::path(path).parent_path() / e.symlink).lexically_normal();
    EXPECT_EQ(resolved, "bin/busybox") << path << " -> " << e.symlink;
  }
  EXPECT_EQ(entries["init"].data, read_text(init));  // guest init wins over any applet
}

TEST_F(InitramfsTest, CacheHitReturnsSamePathWithoutRewriting) {
  auto cache = dir.path() / "cache";
  auto first = cached_initramfs(spec, cache);
  ASSERT_TRUE(first) << first.error().message;
  struct stat before {};
  ASSERT_EQ(::stat(first->c_str(), &before), 0);
  auto second = cached_initramfs(spec, cache);
  ASSERT_TRUE(second);
  EXPECT_EQ(*first, *second);
  struct stat after {};
  ASSERT_EQ(::stat(second->c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);
  EXPECT_EQ(before.st_mtim.tv_sec, after.st_mtim.tv_sec);
  EXPECT_EQ(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);

  // Any input change is a new key.
  auto key = initramfs_cache_key(spec);
  ASSERT_TRUE(key);
  InitramfsSpec changed = spec;
  changed.extra_files[0].contents = "{}";
  EXPECT_NE(*initramfs_cache_key(changed), *key);
  changed = spec;
  changed.modules = {"a"};
  EXPECT_NE(*initramfs_cache_key(changed), *key);
  changed = spec;
  changed.extra_files[0].mode = 0644;
  EXPECT_NE(*initramfs_cache_key(changed), *key);
  write_text(init, "new init bytes");
  EXPECT_NE(*initramfs_cache_key(spec), *key);
  auto third = cached_initramfs(spec, cache);
  ASSERT_TRUE(third);
  EXPECT_NE(*third, *first);
  // No temp files left behind.
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(cache)) {
    EXPECT_EQ(entry.path().filename().string().rfind("initramfs-", 0), 0u) << entry.path();
    ++files;
  }
  EXPECT_EQ(files, 2u);
}

TEST_F(InitramfsTest, BadInputs) {
  auto out = dir.path() / "bad.cpio";
  InitramfsSpec s = spec;
  s.modules = {"missing_module"};
  auto r = write_initramfs(s, out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::not_found);

  s = spec;
  s.guest_init = dir.path() / "no-such-init";
  r = write_initramfs(s, out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::not_found);

  s = spec;
  s.extra_files.push_back({"../escape", "x", 0644});
  r = write_initramfs(s, out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::invalid_request);

  s = spec;
  s.extra_files.push_back({"init", "x", 0755});
  r = write_initramfs(s, out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::invalid_request);

  s = spec;
  s.modules_dir = dir.path() / "nowhere";
  r = write_initramfs(s, out);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("depmod"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace
}  // namespace microagent::image
