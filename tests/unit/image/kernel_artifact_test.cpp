#include "image/kernel_artifact.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "common/sha256.hpp"
#include "image/kernel_deb.hpp"
#include "image/module_order.hpp"
#include "image_test_util.hpp"

namespace microagent::image {
namespace {

using testing::ArchiveMember;
using testing::build_deb;
using testing::read_text;
using testing::TempDir;
using testing::write_text;

constexpr const char* kControl = "Package: linux-image-6.1.0-99-cloud-amd64\nVersion: 6.1.999-1\nArchitecture: amd64\n";

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  TempDir dir;
  write_text(dir.path() / "f", "abc");
  EXPECT_EQ(*sha256_file(dir.path() / "f"), sha256_hex("abc"));
  auto missing = sha256_file(dir.path() / "nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::not_found);
}

TEST(KernelDeb, SafeRelativePaths) {
  EXPECT_EQ(safe_relative_path("./lib/modules/x.ko"), "lib/modules/x.ko");
  EXPECT_EQ(safe_relative_path("boot//vmlinuz-1/"), "boot/vmlinuz-1");
  EXPECT_EQ(safe_relative_path("./"), "");
  EXPECT_EQ(safe_relative_path("../etc/passwd"), std::nullopt);
  EXPECT_EQ(safe_relative_path("lib/modules/../../x"), std::nullopt);
  EXPECT_EQ(safe_relative_path("/etc/passwd"), std::nullopt);
  EXPECT_EQ(safe_relative_path("a/.."), std::nullopt);
  EXPECT_EQ(safe_relative_path("..."), "...");
}

TEST(KernelDeb, PayloadFilter) {
  EXPECT_EQ(kernel_payload_destination("boot/vmlinuz-6.1.0-56-cloud-amd64"), "boot/vmlinuz-6.1.0-56-cloud-amd64");
  EXPECT_EQ(kernel_payload_destination("boot/config-6.1"), "boot/config-6.1");
  EXPECT_EQ(kernel_payload_destination("boot/System.map-6.1"), "boot/System.map-6.1");
  EXPECT_EQ(kernel_payload_destination("lib/modules/6.1/kernel/a.ko"), "lib/modules/6.1/kernel/a.ko");
  EXPECT_EQ(kernel_payload_destination("usr/lib/modules/6.1/kernel/a.ko"), "lib/modules/6.1/kernel/a.ko");
  EXPECT_EQ(kernel_payload_destination("boot/vmlinuz-"), std::nullopt);
  EXPECT_EQ(kernel_payload_destination("boot/grub/grub.cfg"), std::nullopt);
  EXPECT_EQ(kernel_payload_destination("usr/share/doc/linux-image/changelog.gz"), std::nullopt);
  EXPECT_EQ(kernel_payload_destination("etc/kernel/postinst.d/x"), std::nullopt);
  EXPECT_EQ(kernel_payload_destination("lib/modulesX/a"), std::nullopt);
}

TEST(KernelDeb, ExtractsOnlyTheKernelPayload) {
  TempDir dir;
  std::string deb = build_deb(kControl, {
                                            {"./", "", 0755, AE_IFDIR},
                                            {"./boot/", "", 0755, AE_IFDIR},
                                            {"./boot/vmlinuz-6.1.0-99-cloud-amd64", "BZIMAGE", 0644},
                                            {"./boot/config-6.1.0-99-cloud-amd64", "CONFIG_PVH=y\n", 0644},
                                            {"./boot/System.map-6.1.0-99-cloud-amd64", "ffff T _text\n", 0644},
                                            {"./lib/modules/6.1.0-99-cloud-amd64/kernel/a.ko", "KO-A", 0644},
                                            {"./lib/modules/6.1.0-99-cloud-amd64/build", "/usr/src/x", 0777, AE_IFLNK},
                                            {"./usr/share/doc/linux-image/copyright", "GPL", 0644},
                                            {"./etc/kernel/postinst.d/hook", "#!/bin/sh", 0755},
                                        });
  write_text(dir.path() / "k.deb", deb);
  auto target = dir.path() / "out";
  std::filesystem::create_directories(target);
  auto contents = extract_kernel_deb(dir.path() / "k.deb", target);
  ASSERT_TRUE(contents) << contents.error().message;
  EXPECT_EQ(contents->package, "linux-image-6.1.0-99-cloud-amd64");
  EXPECT_EQ(contents->version, "6.1.999-1");
  EXPECT_EQ(contents->files, 4u);
  EXPECT_EQ(read_text(target / "boot/vmlinuz-6.1.0-99-cloud-amd64"), "BZIMAGE");
  EXPECT_EQ(read_text(target / "lib/modules/6.1.0-99-cloud-amd64/kernel/a.ko"), "KO-A");
  EXPECT_FALSE(std::filesystem::exists(target / "usr"));
  EXPECT_FALSE(std::filesystem::exists(target / "etc"));
  EXPECT_FALSE(std::filesystem::is_symlink(target / "lib/modules/6.1.0-99-cloud-amd64/build"));
}

TEST(KernelDeb, RefusesEntriesEscapingTheTarget) {
  for (const char* hostile : {"../evil", "./lib/modules/../../../evil", "/evil"}) {
    TempDir dir;
    std::string deb = build_deb(kControl, {{"./boot/vmlinuz-6.1", "B", 0644}, {hostile, "pwned", 0644}});
    write_text(dir.path() / "k.deb", deb);
    auto target = dir.path() / "a" / "b";
    std::filesystem::create_directories(target);
    auto contents = extract_kernel_deb(dir.path() / "k.deb", target);
    ASSERT_FALSE(contents) << hostile;
    EXPECT_EQ(contents.error().code, ErrorCode::invalid_request);
    EXPECT_NE(contents.error().message.find("escapes"), std::string::npos) << contents.error().message;
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "a" / "evil"));
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "evil"));
  }
}

TEST(KernelDeb, NotADeb) {
  TempDir dir;
  write_text(dir.path() / "junk.deb", "this is not an ar archive at all");
  auto contents = extract_kernel_deb(dir.path() / "junk.deb", dir.path());
  ASSERT_FALSE(contents);
  EXPECT_EQ(contents.error().code, ErrorCode::invalid_request);
}

TEST(KernelArtifact, PackageFromAptCacheDepends) {
  auto pkg = kernel_package_from_depends(
      "linux-image-cloud-amd64\n  Depends: linux-image-6.1.0-56-cloud-amd64\n", "linux-image-cloud-amd64");
  ASSERT_TRUE(pkg);
  EXPECT_EQ(*pkg, "linux-image-6.1.0-56-cloud-amd64");
  auto with_virtual = kernel_package_from_depends(
      "linux-image-cloud-amd64\n  PreDepends: dpkg\n |Depends: <linux-image-virtual>\n  Depends: linux-image-6.1.0-57-cloud-amd64\n",
      "linux-image-cloud-amd64");
  ASSERT_TRUE(with_virtual);
  EXPECT_EQ(*with_virtual, "linux-image-6.1.0-57-cloud-amd64");
  auto none = kernel_package_from_depends("", "linux-image-cloud-amd64");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::not_found);
  EXPECT_NE(none.error().message.find("apt-get update"), std::string::npos);
}

TEST(KernelArtifact, LoadAndVerifyACachedArtifact) {
  TempDir dir;
  auto root = dir.path();
  auto missing = load_kernel_artifact(root);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::not_found);
  EXPECT_NE(missing.error().message.find("microagent kernel fetch"), std::string::npos);

  const std::string release = "6.1.0-99-cloud-amd64";
  write_text(root / release / "vmlinux", "ELF");
  write_text(root / release / "bzImage", "BZ");
  write_text(root / release / "lib/modules" / release / "modules.dep", "");
  write_text(root / release / "manifest.json",
             "{\"release\":\"" + release + "\",\"package\":\"linux-image-" + release +
                 "\",\"packageVersion\":\"6.1.999-1\",\"sha256\":{\"vmlinux\":\"" + sha256_hex("ELF") +
                 "\",\"bzImage\":\"" + sha256_hex("BZ") + "\",\"deb\":\"00\"}}");
  std::filesystem::create_directory_symlink(release, root / "current");

  auto artifact = load_kernel_artifact(root);
  ASSERT_TRUE(artifact) << artifact.error().message;
  EXPECT_EQ(artifact->release, release);
  EXPECT_EQ(artifact->package_version, "6.1.999-1");
  EXPECT_EQ(artifact->vmlinux, root / release / "vmlinux");
  EXPECT_EQ(artifact->modules_dir, root / release / "lib/modules" / release);
  EXPECT_TRUE(verify_kernel_artifact(*artifact));

  // A cached artifact that verifies is returned without touching apt.
  auto fetched = fetch_kernel_artifact({.cache_root = root, .metapackage = "no-such-package-xyz"});
  ASSERT_TRUE(fetched) << fetched.error().message;
  EXPECT_EQ(fetched->dir, root / release);

  write_text(root / release / "vmlinux", "tampered");
  auto bad = verify_kernel_artifact(*artifact);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::internal);
  EXPECT_NE(bad.error().message.find("vmlinux"), std::string::npos);

  // A plain file naming the release works as well as the symlink.
  std::filesystem::remove(root / "current");
  write_text(root / "current", release + "\n");
  EXPECT_TRUE(load_kernel_artifact(root));
  write_text(root / "current", "../../etc\n");
  EXPECT_FALSE(load_kernel_artifact(root));
}

TEST(KernelArtifact, UnknownMetapackageSaysToRunAptGetUpdate) {
  if (std::system("command -v apt-cache >/dev/null 2>&1") != 0) GTEST_SKIP() << "no apt-cache";
  TempDir dir;
  auto fetched = fetch_kernel_artifact({.cache_root = dir.path(), .metapackage = "no-such-package-xyz"});
  ASSERT_FALSE(fetched);
  EXPECT_EQ(fetched.error().code, ErrorCode::not_found);
  EXPECT_NE(fetched.error().message.find("apt-get update"), std::string::npos) << fetched.error().message;
  // Nothing half-built is left in the cache.
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

// The real thing: ~27 MB from the Debian mirror. Opt in with MICROAGENT_TEST_KERNEL_FETCH=1.
TEST(KernelArtifact, RealFetchFromApt) {
  const char* opt_in = std::getenv("MICROAGENT_TEST_KERNEL_FETCH");
  if (!opt_in || std::string(opt_in) != "1") GTEST_SKIP() << "set MICROAGENT_TEST_KERNEL_FETCH=1 to download the kernel";
  TempDir dir;
  auto artifact = fetch_kernel_artifact({.cache_root = dir.path()});
  ASSERT_TRUE(artifact) << artifact.error().message;
  EXPECT_TRUE(verify_kernel_artifact(*artifact));
  EXPECT_TRUE(std::filesystem::exists(artifact->modules_dir / "modules.dep"));
  EXPECT_EQ(read_text(artifact->vmlinux).substr(0, 4), "\x7f" "ELF");
  auto dep = read_text(artifact->modules_dir / "modules.dep");
  auto index = ModuleIndex::parse(dep);
  ASSERT_TRUE(index);
  auto microvm = index->load_order(kMicrovmModules);
  ASSERT_TRUE(microvm) << microvm.error().message;
  EXPECT_EQ(microvm->size(), kMicrovmModules.size());
  auto hyperv = index->load_order(kHypervModules);
  ASSERT_TRUE(hyperv) << hyperv.error().message;
  auto again = fetch_kernel_artifact({.cache_root = dir.path()});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->sha256, artifact->sha256);
}

}  // namespace
}  // namespace microagent::image
