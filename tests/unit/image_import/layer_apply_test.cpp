// Layer application on its own: whiteout rules, digests while streaming,
// compressed layers, and whiteouts that try to reach outside the rootfs.
#include <fcntl.h>
#include <gtest/gtest.h>

#include "common/sha256.hpp"
#include "common/unique_fd.hpp"
#include "image/oci/image_source.hpp"
#include "image/oci/layer_apply.hpp"
#include "import_test_util.hpp"

namespace microagent::image {
namespace {

using namespace testing;

class LayerApplyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rootfs = dir.path() / "rootfs";
    fs::create_directories(rootfs);
    write_text(dir.path() / "outside/keep", "outside\n");
  }

  Result<LayerDigests> apply(const std::vector<TarEntry>& entries, const char* filter = nullptr) {
    const fs::path tar = dir.path() / ("layer" + std::to_string(counter++) + ".tar");
    write_tar(tar, entries);
    fs::path blob = tar;
    if (filter) {
      blob = tar.string() + "." + filter;
      run_tool({filter, "-q", "-k", "-f", tar.string(), "-o", blob.string()});
    }
    uncompressed_sha = *sha256_file(tar);
    blob_sha = *sha256_file(blob);
    auto root = RootfsDir::open(rootfs);
    UniqueFd fd(::open(blob.c_str(), O_RDONLY | O_CLOEXEC));
    ExtractBudget budget;
    return apply_layer_file(fd.get(), blob.filename().string(), *root, budget, specials);
  }

  TempDir dir;
  fs::path rootfs;
  SpecialFiles specials;  // carried from layer to layer, as the importer does
  std::string uncompressed_sha, blob_sha;
  int counter = 0;
};

TEST_F(LayerApplyTest, DigestsAreComputedWhileApplying) {
  auto digests = apply({{"a", AE_IFREG, "x"}});
  ASSERT_TRUE(digests) << digests.error().message;
  EXPECT_EQ(digests->diff_id, "sha256:" + uncompressed_sha);
  EXPECT_EQ(digests->blob, "sha256:" + blob_sha);
}

TEST_F(LayerApplyTest, ZstdLayer) {
  if (!find_program("zstd")) GTEST_SKIP() << "zstd is needed to compress the fixture";
  auto digests = apply({{"z/file", AE_IFREG, "compressed\n"}}, "zstd");
  ASSERT_TRUE(digests) << digests.error().message;
  EXPECT_EQ(digests->diff_id, "sha256:" + uncompressed_sha);
  EXPECT_EQ(digests->blob, "sha256:" + blob_sha);
  EXPECT_NE(digests->blob, digests->diff_id);
  EXPECT_EQ(read_text(rootfs / "z/file"), "compressed\n");
}

TEST_F(LayerApplyTest, OpaqueKeepsOnlyThisLayerWhateverTheOrder) {
  ASSERT_TRUE(apply({{"d/old", AE_IFREG, "1"}, {"d/sub/old", AE_IFREG, "1"}, {"d/sub/keep", AE_IFREG, "1"}}));
  ASSERT_TRUE(apply({{"d/sub/keep", AE_IFREG, "2"}, {"d/.wh..wh..opq", AE_IFREG, ""}, {"d/new", AE_IFREG, "2"}}));
  EXPECT_FALSE(fs::exists(rootfs / "d/old"));
  EXPECT_FALSE(fs::exists(rootfs / "d/sub/old"));
  EXPECT_EQ(read_text(rootfs / "d/sub/keep"), "2");
  EXPECT_EQ(read_text(rootfs / "d/new"), "2");
}

TEST_F(LayerApplyTest, WhiteoutRemovesLowerOnly) {
  ASSERT_TRUE(apply({{"dir/x", AE_IFREG, "1"}, {"f", AE_IFREG, "1"}}));
  ASSERT_TRUE(apply({{".wh.dir", AE_IFREG, ""}, {"f", AE_IFREG, "2"}, {".wh.f", AE_IFREG, ""}}));
  EXPECT_FALSE(fs::exists(rootfs / "dir"));
  EXPECT_EQ(read_text(rootfs / "f"), "2");  // written by the same layer: spared
}

TEST_F(LayerApplyTest, WhiteoutThroughSymlinkStaysInside) {
  ASSERT_TRUE(apply({{"out", AE_IFLNK, "", 0777, (dir.path() / "outside").string()}, {"up", AE_IFLNK, "", 0777, "../.."}}));
  auto through_absolute = apply({{"out/.wh.keep", AE_IFREG, ""}});
  auto through_relative = apply({{"up/outside/.wh.keep", AE_IFREG, ""}});
  EXPECT_TRUE(through_absolute) << through_absolute.error().message;
  EXPECT_TRUE(through_relative) << through_relative.error().message;
  EXPECT_EQ(read_text(dir.path() / "outside/keep"), "outside\n");
  auto dotdot = apply({{"../outside/.wh.keep", AE_IFREG, ""}});
  ASSERT_FALSE(dotdot);
  EXPECT_EQ(dotdot.error().code, ErrorCode::invalid_request);
  EXPECT_EQ(read_text(dir.path() / "outside/keep"), "outside\n");
}

TEST_F(LayerApplyTest, HardLinkInsideWorks) {
  auto digests = apply({{"a", AE_IFREG, "shared"}, {"b", AE_IFREG, "", 0644, "a", true}});
  ASSERT_TRUE(digests) << digests.error().message;
  EXPECT_EQ(fs::hard_link_count(rootfs / "a"), 2u);
  EXPECT_EQ(read_text(rootfs / "b"), "shared");
}

TEST_F(LayerApplyTest, GarbageIsRefused) {
  write_text(dir.path() / "garbage", std::string(4096, '\x7f'));
  auto root = RootfsDir::open(rootfs);
  UniqueFd fd(::open((dir.path() / "garbage").c_str(), O_RDONLY | O_CLOEXEC));
  ExtractBudget budget;
  auto digests = apply_layer_file(fd.get(), "garbage", *root, budget, specials);
  ASSERT_FALSE(digests);
  EXPECT_EQ(digests.error().code, ErrorCode::invalid_request);
}

TEST(EntryPath, Normalizes) {
  EXPECT_EQ(normalize_entry_path("./a//b/./c/"), "a/b/c");
  EXPECT_EQ(normalize_entry_path("/etc/passwd"), "etc/passwd");
  EXPECT_EQ(normalize_entry_path("./"), "");
  EXPECT_EQ(normalize_entry_path("a/../b"), std::nullopt);
  EXPECT_EQ(normalize_entry_path(".."), std::nullopt);
}

}  // namespace
}  // namespace microagent::image

namespace microagent::image {
namespace {

using namespace testing;

// Documents with fields of the wrong type are bad input, never a crash.
TEST(SourceDocuments, WrongTypesAreInvalidRequests) {
  TempDir dir;
  write_text(dir.path() / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  auto layout = RootfsDir::open(dir.path());
  for (const char* index : {R"({"manifests":5})", R"({"manifests":[5]})", R"({"manifests":[{"digest":5}]})",
                            R"({"manifests":[{"digest":"sha256:00","mediaType":7}]})", R"([1,2])",
                            R"({"manifests":[{"digest":"sha512:00"}]})", "not json"}) {
    write_text(dir.path() / "index.json", index);
    auto manifest = read_oci_layout(*layout, std::nullopt);
    ASSERT_FALSE(manifest) << index;
    EXPECT_TRUE(manifest.error().code == ErrorCode::invalid_request || manifest.error().code == ErrorCode::unsupported)
        << index << ": " << manifest.error().message;
  }
  for (const char* list : {R"([{"Config":5}])", R"([{"Config":"c.json","Layers":"x"}])", R"({})", R"([])",
                           R"([{"Config":"../../etc/passwd","Layers":[]}])"}) {
    write_text(dir.path() / "manifest.json", list);
    write_text(dir.path() / "c.json", R"({"rootfs":{"diff_ids":[]}})");
    auto manifest = read_docker_archive(*layout, std::nullopt);
    ASSERT_FALSE(manifest) << list;
  }
}

}  // namespace
}  // namespace microagent::image
