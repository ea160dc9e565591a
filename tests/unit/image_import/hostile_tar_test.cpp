// Hostile archives: every entry that tries to leave the rootfs is refused or
// lands inside it, and nothing outside the rootfs changes.
#include <gtest/gtest.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "common/sha256.hpp"
#include "image/oci/special_files.hpp"
#include "image/store/image_import.hpp"
#include "import_test_util.hpp"

namespace microagent::image {
namespace {

using namespace testing;

class HostileTarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sentinel = dir.path() / "sentinel";
    write_text(sentinel / "keep", "sentinel bytes\n");
    fs::create_directories(sentinel / "sub");
    before = snapshot(sentinel);
    passwd = *sha256_file("/etc/passwd");
  }

  void TearDown() override {
    EXPECT_EQ(snapshot(sentinel), before) << "a file outside the rootfs changed";
    EXPECT_EQ(*sha256_file("/etc/passwd"), passwd);
    EXPECT_FALSE(fs::exists(dir.path() / "x"));
    EXPECT_FALSE(fs::exists(dir.path() / "state/x"));
    EXPECT_FALSE(fs::exists(dir.path() / "state/images/x"));
    std::error_code ec;
    if (fs::exists(dir.path() / "state/images/tmp")) {
      EXPECT_TRUE(fs::is_empty(dir.path() / "state/images/tmp"));
    }
  }

  Result<ImportOutcome> import_tar(const std::vector<TarEntry>& entries, ExtractLimits limits = {}) {
    const fs::path tar = dir.path() / ("hostile" + std::to_string(counter++) + ".tar");
    write_tar(tar, entries);
    auto store = ImageStore::open(dir.path() / "state");
    if (!store) return std::unexpected(store.error());
    ImportOptions options;
    options.source = tar;
    options.limits = limits;
    return import_image(*store, options);
  }

  void expect_refused(const Result<ImportOutcome>& outcome, const std::string& names) {
    ASSERT_FALSE(outcome) << "imported " << outcome->record.rootfs;
    EXPECT_EQ(outcome.error().code, ErrorCode::invalid_request) << outcome.error().message;
    EXPECT_NE(outcome.error().message.find(names), std::string::npos) << outcome.error().message;
  }

  TempDir dir;
  fs::path sentinel;
  std::map<std::string, std::string> before;
  std::string passwd;
  int counter = 0;
};

TEST_F(HostileTarTest, DotDotIsRefused) {
  expect_refused(import_tar({{"../../x", AE_IFREG, "escaped"}}), "'../../x'");
  const std::string deep = "../../../../../../../../.." + (sentinel / "keep").string();
  expect_refused(import_tar({{deep, AE_IFREG, "overwritten"}}), deep);
}

TEST_F(HostileTarTest, AbsolutePathStaysInside) {
  const std::string name = (sentinel / "abs").string();
  auto outcome = import_tar({{name, AE_IFREG, "contained\n"}});
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(read_text(outcome->record.rootfs / name.substr(1)), "contained\n");
}

TEST_F(HostileTarTest, WriteThroughAbsoluteSymlinkIsRefused) {
  expect_refused(import_tar({{"etc", AE_IFLNK, "", 0777, "/etc"}, {"etc/passwd", AE_IFREG, "root::0:0::/:/bin/sh\n"}}),
                 "etc/passwd");
  expect_refused(import_tar({{"s", AE_IFLNK, "", 0777, sentinel.string()}, {"s/keep", AE_IFREG, "overwritten"}}),
                 "s/keep");
}

TEST_F(HostileTarTest, RelativeSymlinkEscapeIsContained) {
  // "../../.." from the root is the root itself: the write lands inside.
  auto outcome = import_tar({{"up", AE_IFLNK, "", 0777, "../../../.."},
                             {"up/sentinel/keep", AE_IFREG, "inside\n"}});
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(read_text(outcome->record.rootfs / "sentinel/keep"), "inside\n");
  EXPECT_EQ(fs::read_symlink(outcome->record.rootfs / "up"), "../../../..");
}

TEST_F(HostileTarTest, FileOverSymlinkReplacesTheLink) {
  auto outcome = import_tar({{"pw", AE_IFLNK, "", 0777, "/etc/passwd"}, {"pw", AE_IFREG, "mine\n"}});
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_FALSE(fs::is_symlink(outcome->record.rootfs / "pw"));
  EXPECT_EQ(read_text(outcome->record.rootfs / "pw"), "mine\n");
}

TEST_F(HostileTarTest, HardLinkOutsideIsRefused) {
  expect_refused(import_tar({{"shadow", AE_IFREG, "", 0644, "/etc/shadow", true}}), "shadow");
  expect_refused(import_tar({{"keep", AE_IFREG, "", 0644, "../../../" + (sentinel / "keep").string(), true}}), "keep");
}

TEST_F(HostileTarTest, HugeSparseClaimIsRefused) {
  expect_refused(import_tar({{"big", AE_IFREG, "data", 0644, "", false, 10'000'000'000}}), "'big'");
}

TEST_F(HostileTarTest, SparseFileWithinBoundStaysSparse) {
  auto outcome = import_tar({{"sparse", AE_IFREG, "head", 0644, "", false, 64 << 20}});
  ASSERT_TRUE(outcome) << outcome.error().message;
  struct stat st{};
  ASSERT_EQ(::stat((outcome->record.rootfs / "sparse").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 64 << 20);
  EXPECT_LT(st.st_blocks * 512, 1 << 20);
}

TEST_F(HostileTarTest, TotalSizeIsBounded) {
  ExtractLimits limits;
  limits.max_total_bytes = 1000;
  expect_refused(import_tar({{"a", AE_IFREG, std::string(600, 'a')}, {"b", AE_IFREG, std::string(600, 'b')}}, limits),
                 "'b'");
}

// Devices, FIFOs and setuid/setgid bits are recorded for the root disk, never
// made on the host (oci/special_files.hpp); ownership and xattrs are kept.
TEST_F(HostileTarTest, SpecialFilesAreRecordedAndOwnershipPreserved) {
  if (::geteuid() != 0) GTEST_SKIP() << "ownership needs root";
  const fs::path tar = dir.path() / "special.tar";
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  ASSERT_EQ(archive_write_open_filename(a, tar.c_str()), ARCHIVE_OK);
  auto add = [&](const char* path, unsigned type, unsigned mode, int uid, dev_t rdev, const std::string& data) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, path);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, mode);
    archive_entry_set_uid(e, uid);
    archive_entry_set_gid(e, uid);
    archive_entry_set_rdev(e, rdev);
    archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
    if (type == AE_IFREG) archive_entry_xattr_add_entry(e, "user.origin", "layer", 5);
    archive_write_header(a, e);
    if (!data.empty()) archive_write_data(a, data.data(), data.size());
    archive_entry_free(e);
  };
  add("dev/null", AE_IFCHR, 0666, 0, makedev(1, 3), "");
  add("run/fifo", AE_IFIFO, 0600, 0, 0, "");
  add("home/u/file", AE_IFREG, 02750, 1000, 0, "owned\n");
  archive_write_close(a);
  archive_write_free(a);
  auto store = ImageStore::open(dir.path() / "state");
  ImportOptions options;
  options.source = tar;
  auto outcome = import_image(*store, options);
  ASSERT_TRUE(outcome) << outcome.error().message;
  struct stat st{};
  for (const char* stand_in : {"dev/null", "run/fifo"}) {
    ASSERT_EQ(::lstat((outcome->record.rootfs / stand_in).c_str(), &st), 0) << stand_in;
    EXPECT_TRUE(S_ISREG(st.st_mode)) << stand_in << " must be a plain file on the host";
    EXPECT_EQ(st.st_mode & 07777, 0600u) << stand_in;
    EXPECT_EQ(st.st_size, 0) << stand_in;
  }
  ASSERT_EQ(::lstat((outcome->record.rootfs / "home/u/file").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_mode & 07777, 0750u) << "no setgid bit on the host";
  auto specials = special_files_from_json(read_text(outcome->record.dir / kSpecialFilesName));
  ASSERT_TRUE(specials) << specials.error().message;
  ASSERT_EQ(specials->files().size(), 3u);
  const SpecialFile* null = specials->find("dev/null");
  ASSERT_NE(null, nullptr);
  EXPECT_EQ(null->kind, SpecialKind::char_device);
  EXPECT_EQ(null->major, 1u);
  EXPECT_EQ(null->minor, 3u);
  EXPECT_EQ(null->mode, 0666u);
  ASSERT_NE(specials->find("run/fifo"), nullptr);
  EXPECT_EQ(specials->find("run/fifo")->kind, SpecialKind::fifo);
  const SpecialFile* file = specials->find("home/u/file");
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->kind, SpecialKind::setid_file);
  EXPECT_EQ(file->mode, 02750u);
  EXPECT_EQ(file->uid, 1000u);
  char value[16] = {};
  ASSERT_EQ(::getxattr((outcome->record.rootfs / "home/u/file").c_str(), "user.origin", value, sizeof value), 5);
  EXPECT_EQ(std::string(value), "layer");
}

TEST_F(HostileTarTest, RootfsDirectoryAndItsTarballGiveOneImage) {
  const fs::path tree = dir.path() / "tree";
  write_text(tree / "bin/tool", "#!/bin/sh\n");
  fs::permissions(tree / "bin/tool", static_cast<fs::perms>(0755));
  fs::create_symlink("bin/tool", tree / "tool");
  const fs::path tar = dir.path() / "tree.tar.gz";
  run_tool({"tar", "-C", tree.string(), "-czf", tar.string(), "."});
  auto store = ImageStore::open(dir.path() / "state");
  ImportOptions from_dir;
  from_dir.source = tree;
  from_dir.name = "tree:dir";
  auto a = import_image(*store, from_dir);
  ImportOptions from_tar;
  from_tar.source = tar;
  from_tar.name = "tree:tar";
  auto b = import_image(*store, from_tar);
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(a->record.source_kind, "rootfs-dir");
  EXPECT_EQ(b->record.source_kind, "rootfs-dir");  // the record of the first import
  EXPECT_EQ(a->record.rootfs_digest, b->record.rootfs_digest);
  EXPECT_EQ(a->record.digest, b->record.digest);
  EXPECT_TRUE(b->already_present);
  EXPECT_EQ(b->record.names, (std::vector<std::string>{"tree:dir", "tree:tar"}));
}

}  // namespace
}  // namespace microagent::image
