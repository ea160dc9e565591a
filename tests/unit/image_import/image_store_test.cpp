// The store on its own: what counts as present, crash debris, references.
#include <gtest/gtest.h>

#include "image/store/image_import.hpp"
#include "image/store/image_store.hpp"
#include "import_test_util.hpp"

namespace microagent::image {
namespace {

using namespace testing;

ImageRecord import_tree(ImageStore& store, const fs::path& tree, const std::string& name) {
  ImportOptions options;
  options.source = tree;
  options.name = name;
  auto outcome = import_image(store, options);
  EXPECT_TRUE(outcome) << outcome.error().message;
  return outcome ? outcome->record : ImageRecord{};
}

TEST(ImageStore, HalfImportsAreNeverPresentAndGetCleaned) {
  TempDir dir;
  auto store = ImageStore::open(dir.path() / "state");
  ASSERT_TRUE(store);
  EXPECT_EQ(fs::status(store->root()).permissions() & fs::perms::all, fs::perms::owner_all);
  // A crash after staging (dead PID in the name) and a directory without record.json.
  const std::string hex(64, 'c');
  write_text(store->root() / "tmp/import.tmp.999999999.1/record.json", "{}");
  fs::create_directories(store->root() / "sha256" / hex / "rootfs");
  EXPECT_FALSE(store->contains("sha256:" + hex));
  EXPECT_TRUE(store->list()->empty());
  EXPECT_FALSE(store->resolve("sha256:" + hex));

  write_text(dir.path() / "tree/f", "x");
  const ImageRecord r = import_tree(*store, dir.path() / "tree", "t:1");
  EXPECT_FALSE(fs::exists(store->root() / "tmp/import.tmp.999999999.1"));
  EXPECT_TRUE(fs::is_empty(store->root() / "tmp"));
  EXPECT_EQ(store->list()->size(), 1u);
  EXPECT_TRUE(fs::exists(r.dir / "config.json"));
}

TEST(ImageStore, ReferencesResolve) {
  TempDir dir;
  auto store = ImageStore::open(dir.path() / "state");
  write_text(dir.path() / "a/f", "a");
  write_text(dir.path() / "b/f", "b");
  const ImageRecord a = import_tree(*store, dir.path() / "a", "app:latest");
  const ImageRecord b = import_tree(*store, dir.path() / "b", "docker.io/library/base:1");
  ASSERT_NE(a.digest, b.digest);
  EXPECT_EQ(store->resolve("app")->digest, a.digest);
  EXPECT_EQ(store->resolve("app:latest")->digest, a.digest);
  EXPECT_EQ(store->resolve("base:1")->digest, b.digest);
  EXPECT_EQ(store->resolve(a.digest)->digest, a.digest);
  EXPECT_EQ(store->resolve(a.digest.substr(7, 10))->digest, a.digest);
  EXPECT_EQ(store->resolve("sha256:" + b.digest.substr(7, 10))->digest, b.digest);
  auto short_prefix = store->resolve(a.digest.substr(7, 4));
  ASSERT_FALSE(short_prefix);
  EXPECT_EQ(short_prefix.error().code, ErrorCode::not_found);

  // A reference moves when a new import claims it; the old image stays.
  import_tree(*store, dir.path() / "b", "app:latest");
  EXPECT_EQ(store->resolve("app")->digest, b.digest);
  EXPECT_TRUE(store->resolve(a.digest)->names.empty());

  auto removed = store->remove("app");
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_FALSE(store->resolve("base:1"));
  EXPECT_FALSE(fs::exists(b.dir));
  EXPECT_TRUE(store->resolve(a.digest));
  EXPECT_TRUE(fs::is_empty(store->root() / "tmp"));
}

TEST(ImageStore, BadReferencesAreRefused) {
  TempDir dir;
  auto store = ImageStore::open(dir.path() / "state");
  for (const std::string& ref : std::vector<std::string>{"", "has space", "sha256:abc", std::string(300, 'a'), "tab\there"}) {
    auto ok = validate_reference(ref);
    ASSERT_FALSE(ok) << ref;
    EXPECT_EQ(ok.error().code, ErrorCode::invalid_request);
  }
  EXPECT_TRUE(validate_reference("registry.example.com:5000/team/app:1.0"));
}

}  // namespace
}  // namespace microagent::image
