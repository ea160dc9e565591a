#include "net/passt_binary.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace microagent::net {
namespace {

namespace fs = std::filesystem;

TEST(PasstVersion, OnlyBuildsFrom2025May3OnRelayHalfClose) {
  EXPECT_FALSE(passt_version_relays_half_close("passt unknown version\nCopyright Red Hat\n"));  // Debian 12
  EXPECT_FALSE(passt_version_relays_half_close("passt 0.0~git20230309.7c7625d-1\n"));
  EXPECT_FALSE(passt_version_relays_half_close("passt 2024_12_11.09478d5-7-g2c174f1\n"));
  EXPECT_FALSE(passt_version_relays_half_close(""));
  EXPECT_FALSE(passt_version_relays_half_close("passt 1.2.3\n"));
  EXPECT_TRUE(passt_version_relays_half_close("passt 2025_05_03.587980c\n"));
  EXPECT_TRUE(passt_version_relays_half_close("passt 0.0~git20250503.587980c-2+deb13u1\n"));
  EXPECT_TRUE(passt_version_relays_half_close("passt 2026_01_20.386b5f5\n"));
}

TEST(PasstChoice, OverrideThenBuiltThenPath) {
  const fs::path dir = fs::temp_directory_path() / ("passt-choice-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path built = dir / "passt";
  auto on_path = [](const std::string& name) -> std::optional<std::string> { return "/usr/bin/" + name; };
  auto nowhere = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };

  EXPECT_FALSE(choose_passt(std::nullopt, built, nowhere));
  EXPECT_EQ(choose_passt(std::nullopt, built, on_path)->path, "/usr/bin/passt");
  EXPECT_EQ(choose_passt(std::nullopt, built, on_path)->origin, "PATH");

  std::ofstream(built) << "#!/bin/sh\n";
  EXPECT_EQ(choose_passt(std::nullopt, built, on_path)->origin, "PATH") << "not executable: not chosen";
  fs::permissions(built, fs::perms::owner_all);
  EXPECT_EQ(choose_passt(std::nullopt, built, on_path)->path, built.string());
  EXPECT_EQ(choose_passt(std::nullopt, built, on_path)->origin, "scripts/fetch-passt");

  // An explicit override is kept even when it does not exist: start then says so.
  auto chosen = choose_passt(std::string("/nonexistent/passt"), built, on_path);
  EXPECT_EQ(chosen->path, "/nonexistent/passt");
  EXPECT_EQ(chosen->origin, "MICROAGENT_PASST");
  fs::remove_all(dir);
}

TEST(PasstChoice, BuiltPathIsVersionedUnderTools) {
  EXPECT_EQ(built_passt_path("/h"), fs::path("/h/tools/passt-2025_05_03.587980c/passt"));
}

}  // namespace
}  // namespace microagent::net
