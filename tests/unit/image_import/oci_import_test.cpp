// Images built offline with umoci (two layers: the second deletes a file of
// the first and replaces a directory with an opaque whiteout), imported from
// the OCI layout and from skopeo's docker-archive copy.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "image/oci/digest.hpp"
#include "image/oci/special_files.hpp"
#include "image/store/image_import.hpp"
#include "import_test_util.hpp"

namespace microagent::image {
namespace {

using namespace testing;

class OciImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!find_program("umoci") || !find_program("skopeo")) GTEST_SKIP() << "umoci and skopeo are needed (scripts/bootstrap)";
    layout = dir.path() / "layout";
    const std::string image = "oci:" + layout.string() + ":img";
    run_tool({"umoci", "init", "--layout", layout.string()});
    run_tool({"umoci", "new", "--image", layout.string() + ":img"});
    const fs::path bundle = dir.path() / "bundle";
    run_tool({"umoci", "unpack", "--image", layout.string() + ":img", bundle.string()});
    const fs::path rootfs = bundle / "rootfs";
    write_text(rootfs / "etc/gone", "deleted by layer 2\n");
    write_text(rootfs / "etc/conf/old", "hidden by the opaque whiteout\n");
    write_text(rootfs / "etc/conf/sub/deep", "also hidden\n");
    write_text(rootfs / "bin/hello", "#!/bin/sh\necho hello\n");
    fs::permissions(rootfs / "bin/hello", static_cast<fs::perms>(04755));
    fs::create_symlink("/etc", rootfs / "etclink");
    run_tool({"umoci", "repack", "--image", layout.string() + ":img", bundle.string()});
    // The second layer by hand: umoci never writes opaque markers. The marker
    // comes after the new file on purpose: order must not matter.
    const fs::path layer2 = dir.path() / "layer2.tar";
    write_tar(layer2, {{"etc/conf/", AE_IFDIR, "", 0755},
                       {"etc/conf/new", AE_IFREG, "layer 2 content\n"},
                       {"etc/.wh.gone", AE_IFREG, ""},
                       {"etc/conf/.wh..wh..opq", AE_IFREG, ""}});
    run_tool({"umoci", "raw", "add-layer", "--image", layout.string() + ":img", layer2.string()});
    run_tool({"umoci", "config", "--image", layout.string() + ":img", "--config.cmd", "/bin/hello", "--config.cmd",
              "world", "--config.env", "FOO=bar", "--config.workingdir", "/etc"});
    docker_archive = dir.path() / "img.docker.tar";
    run_tool({"skopeo", "copy", "--quiet", image, "docker-archive:" + docker_archive.string() + ":img:latest"});
  }

  Result<ImportOutcome> import(const fs::path& source, const fs::path& state, std::optional<std::string> name = {},
                               std::size_t* layer_events = nullptr) {
    auto store = ImageStore::open(state);
    if (!store) return std::unexpected(store.error());
    ImportOptions options;
    options.source = source;
    options.name = std::move(name);
    options.on_progress = [layer_events](const ImportProgress& p) {
      if (layer_events && p.phase == "layer") ++*layer_events;
    };
    return import_image(*store, options);
  }

  TempDir dir;
  fs::path layout;
  fs::path docker_archive;
};

TEST_F(OciImportTest, AppliesWhiteoutsAndRecordsConfig) {
  auto outcome = import(layout, dir.path() / "state", "img:1");
  ASSERT_TRUE(outcome) << outcome.error().message;
  const ImageRecord& r = outcome->record;
  EXPECT_FALSE(outcome->already_present);
  EXPECT_TRUE(validate_digest(r.digest));
  EXPECT_EQ(r.source_kind, "oci-layout");
  EXPECT_EQ(r.config.cmd, (std::vector<std::string>{"/bin/hello", "world"}));
  EXPECT_NE(std::find(r.config.env.begin(), r.config.env.end(), "FOO=bar"), r.config.env.end());
  EXPECT_EQ(r.config.working_dir, "/etc");
  EXPECT_EQ(r.config.diff_ids.size(), 2u);
  EXPECT_EQ(r.names, std::vector<std::string>{"img:1"});

  EXPECT_FALSE(fs::exists(r.rootfs / "etc/gone"));
  std::vector<std::string> conf;
  for (const auto& e : fs::recursive_directory_iterator(r.rootfs / "etc/conf")) conf.push_back(e.path().filename());
  EXPECT_EQ(conf, std::vector<std::string>{"new"});
  EXPECT_EQ(read_text(r.rootfs / "etc/conf/new"), "layer 2 content\n");
  struct stat st{};
  ASSERT_EQ(::lstat((r.rootfs / "bin/hello").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u) << "no setuid bit on the host";
  auto specials = special_files_from_json(read_text(r.dir / kSpecialFilesName));
  ASSERT_TRUE(specials) << specials.error().message;
  ASSERT_NE(specials->find("bin/hello"), nullptr) << "the setuid bit is recorded for the root disk";
  EXPECT_EQ(specials->find("bin/hello")->mode, 04755u);
  EXPECT_EQ(fs::read_symlink(r.rootfs / "etclink"), "/etc");

  auto resolved = ImageStore::open(dir.path() / "state")->resolve("img:1");
  ASSERT_TRUE(resolved) << resolved.error().message;
  EXPECT_EQ(resolved->digest, r.digest);
  EXPECT_EQ(resolved->rootfs, r.rootfs);
}

TEST_F(OciImportTest, DockerArchiveCopyGivesTheSameRootfs) {
  auto from_layout = import(layout, dir.path() / "state-oci");
  auto from_docker = import(docker_archive, dir.path() / "state-docker");
  ASSERT_TRUE(from_layout) << from_layout.error().message;
  ASSERT_TRUE(from_docker) << from_docker.error().message;
  EXPECT_EQ(from_docker->record.source_kind, "docker-archive");
  EXPECT_EQ(from_layout->record.rootfs_digest, from_docker->record.rootfs_digest);
  EXPECT_EQ(from_layout->record.config.cmd, from_docker->record.config.cmd);
  EXPECT_EQ(snapshot(from_layout->record.rootfs), snapshot(from_docker->record.rootfs));
  // skopeo's RepoTags name the image; an unqualified ref finds it.
  EXPECT_TRUE(ImageStore::open(dir.path() / "state-docker")->resolve("img"));
}

TEST_F(OciImportTest, SecondImportDoesNoWork) {
  const fs::path state = dir.path() / "state";
  std::size_t first_events = 0, second_events = 0;
  auto first = import(layout, state, "img:1", &first_events);
  ASSERT_TRUE(first) << first.error().message;
  const auto inode_before = fs::last_write_time(first->record.dir / "record.json");
  auto second = import(layout, state, "img:2", &second_events);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_GT(first_events, 0u);
  EXPECT_EQ(second_events, 0u);  // no layer was read
  EXPECT_TRUE(second->already_present);
  EXPECT_EQ(second->record.digest, first->record.digest);
  EXPECT_EQ(fs::last_write_time(second->record.dir / "record.json"), inode_before);
  EXPECT_EQ(second->record.names, (std::vector<std::string>{"img:1", "img:2"}));
  // The docker-archive copy is the same image: found from its small files alone.
  std::size_t archive_events = 0;
  auto from_archive = import(docker_archive, state, std::nullopt, &archive_events);
  ASSERT_TRUE(from_archive) << from_archive.error().message;
  EXPECT_TRUE(from_archive->already_present);
  EXPECT_EQ(archive_events, 0u);
  EXPECT_EQ(from_archive->record.digest, first->record.digest);
  // Nothing left behind in staging.
  EXPECT_TRUE(fs::is_empty(state / "images/tmp"));
}

TEST_F(OciImportTest, OciArchiveImports) {
  const fs::path archive = dir.path() / "img.oci.tar";
  run_tool({"skopeo", "copy", "--quiet", "oci:" + layout.string() + ":img", "oci-archive:" + archive.string() + ":img"});
  auto from_archive = import(archive, dir.path() / "state-archive");
  auto from_layout = import(layout, dir.path() / "state-layout");
  ASSERT_TRUE(from_archive) << from_archive.error().message;
  ASSERT_TRUE(from_layout) << from_layout.error().message;
  EXPECT_EQ(from_archive->record.source_kind, "oci-archive");
  EXPECT_EQ(from_archive->record.rootfs_digest, from_layout->record.rootfs_digest);
}

TEST_F(OciImportTest, TamperedLayerBlobIsRefused) {
  // Append a byte to the second layer blob: its digest no longer matches.
  auto manifest_digest = nlohmann::json::parse(read_text(layout / "index.json"))["manifests"][0]["digest"].get<std::string>();
  auto manifest = nlohmann::json::parse(read_text(layout / "blobs/sha256" / digest_hex(manifest_digest)));
  const std::string layer = digest_hex(manifest["layers"][1]["digest"].get<std::string>());
  std::ofstream(layout / "blobs/sha256" / layer, std::ios::app) << "x";
  const fs::path state = dir.path() / "state";
  auto outcome = import(layout, state);
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, ErrorCode::invalid_request);
  EXPECT_NE(outcome.error().message.find("tampered"), std::string::npos) << outcome.error().message;
  EXPECT_TRUE(ImageStore::open(state)->list()->empty());
  EXPECT_TRUE(fs::is_empty(state / "images/tmp"));
}

TEST_F(OciImportTest, TamperedConfigIsRefused) {
  auto manifest_digest = nlohmann::json::parse(read_text(layout / "index.json"))["manifests"][0]["digest"].get<std::string>();
  auto manifest = nlohmann::json::parse(read_text(layout / "blobs/sha256" / digest_hex(manifest_digest)));
  const fs::path config = layout / "blobs/sha256" / digest_hex(manifest["config"]["digest"].get<std::string>());
  std::string text = read_text(config);
  text.replace(text.find("FOO=bar"), 7, "FOO=baz");
  write_text(config, text);
  auto outcome = import(layout, dir.path() / "state");
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, ErrorCode::invalid_request);
}

}  // namespace
}  // namespace microagent::image
