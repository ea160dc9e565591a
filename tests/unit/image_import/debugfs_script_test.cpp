// The pure half of special files: quoting names for debugfs, the script built
// from records, the records' JSON, and the records following replacements.
#include <gtest/gtest.h>

#include "image/debugfs_script.hpp"
#include "image/oci/special_files.hpp"
#include "image/store/special_files_script.hpp"

namespace microagent::image {
namespace {

TEST(DebugfsQuote, QuotesEveryNameIntoOneArgument) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"plain", "\"plain\""},        {"a b", "\"a b\""},       {"q\"x", "\"q\"\"x\""}, {"\"\"", "\"\"\"\"\"\""},
      {"tab\tx", "\"tab\tx\""},      {"!cmd", "\"!cmd\""},     {"#c", "\"#c\""},       {"", "\"\""},
  };
  for (const auto& [name, quoted] : cases) EXPECT_EQ(debugfs_quote(name), quoted) << name;
}

TEST(DebugfsQuote, RefusesWhatNoScriptLineCanCarry) {
  for (const std::string& bad : {std::string("a\nb"), std::string("cr\r"), std::string("nul\0x", 5),
                                std::string(kMaxDebugfsArgument, 'x')}) {
    EXPECT_FALSE(debugfs_quote(bad)) << bad;
  }
}

TEST(DebugfsPath, AlwaysAbsoluteSoNeverAnOptionOrAnInodeNumber) {
  EXPECT_EQ(debugfs_path("-rf"), "\"/-rf\"");
  EXPECT_EQ(debugfs_path("<12>"), "\"/<12>\"");
  EXPECT_EQ(debugfs_path("dev/a b"), "\"/dev/a b\"");
  for (const char* bad : {"", "/abs", "a/../b", "a//b", "./a", "a/\nb"}) {
    EXPECT_FALSE(debugfs_path(bad)) << bad;
    EXPECT_NE(debugfs_path_problem(bad), "") << bad;
  }
}

SpecialFile record_of(std::string path, SpecialKind kind, std::uint32_t mode) {
  SpecialFile f;
  f.path = std::move(path);
  f.kind = kind;
  f.mode = mode;
  return f;
}

TEST(SpecialFilesScript, MakesNodesInTheirDirectoryAndSetsEveryField) {
  SpecialFiles specials;
  SpecialFile null = record_of("dev/null", SpecialKind::char_device, 0666);
  null.major = 1;
  null.minor = 3;
  null.gid = 5;
  null.mtime = 1700000000;
  specials.record(null);
  specials.record(record_of("bin/su", SpecialKind::setid_file, 04755));
  specials.record(record_of("fifo", SpecialKind::fifo, 0600));
  auto script = special_files_script(specials, 1577836800);
  ASSERT_TRUE(script) << script.error().message;
  EXPECT_EQ(*script,
            "set_current_time @1577836800\n"
            "sif \"/bin/su\" mode 0104755\n"
            "rm \"/dev/null\"\ncd \"/dev\"\nmknod \"null\" c 1 3\ncd \"/\"\n"
            "sif \"/dev/null\" mode 020666\nsif \"/dev/null\" uid 0\nsif \"/dev/null\" gid 5\n"
            "sif \"/dev/null\" atime @1700000000\nsif \"/dev/null\" mtime @1700000000\n"
            "sif \"/dev/null\" ctime @1577836800\nsif \"/dev/null\" crtime @1577836800\n"
            "rm \"/fifo\"\ncd \"/\"\nmknod \"fifo\" p\ncd \"/\"\n"
            "sif \"/fifo\" mode 010600\nsif \"/fifo\" uid 0\nsif \"/fifo\" gid 0\n"
            "sif \"/fifo\" atime @0\nsif \"/fifo\" mtime @0\nsif \"/fifo\" ctime @1577836800\n"
            "sif \"/fifo\" crtime @1577836800\n");
}

TEST(SpecialFilesScript, NoLineIsLongEnoughToBeCut) {
  SpecialFiles specials;
  std::string deep;
  for (int i = 0; i < 20; ++i) deep += std::string(140, '"') + "/";  // every quote doubles
  specials.record(record_of(deep + "n", SpecialKind::fifo, 0600));
  auto script = special_files_script(specials, 0);
  ASSERT_FALSE(script) << "a path that cannot be quoted is a tampered record";
  SpecialFiles fine;
  fine.record(record_of(std::string(200, '"') + "/" + std::string(200, ' '), SpecialKind::char_device, 0600));
  script = special_files_script(fine, 0);
  ASSERT_TRUE(script);
  std::size_t start = 0;
  while (start < script->size()) {
    const std::size_t end = script->find('\n', start);
    EXPECT_LT(end - start, 8191u);  // debugfs reads BUFSIZ bytes a line
    EXPECT_NE((*script)[start], '!');
    start = end + 1;
  }
}

TEST(SpecialFilesScript, ErrorsAreWhatFollowsTheBanner) {
  EXPECT_TRUE(debugfs_script_errors("debugfs 1.47.0 (5-Feb-2023)\n").empty());
  EXPECT_EQ(debugfs_script_errors("debugfs 1.47.0 (5-Feb-2023)\nrm: File not found\n"),
            std::vector<std::string>{"rm: File not found"});
  EXPECT_EQ(debugfs_script_errors("mknod: bad\n"), std::vector<std::string>{"mknod: bad"});
}

TEST(SpecialFilesRecords, ForgetDropsAPathAndWhatIsBelowIt) {
  SpecialFiles specials;
  for (const char* path : {"dev", "dev/a", "dev/a/b", "dev-other", "devx/a"}) {
    specials.record(record_of(path, SpecialKind::fifo, 0600));
  }
  specials.forget("dev");
  std::vector<std::string> left;
  for (const auto& [path, f] : specials.files()) left.push_back(path);
  EXPECT_EQ(left, (std::vector<std::string>{"dev-other", "devx/a"}));
  specials.forget_exact("devx");
  EXPECT_EQ(specials.files().size(), 2u);
  specials.forget("");
  EXPECT_TRUE(specials.files().empty());
}

TEST(SpecialFilesRecords, JsonRoundTripsAndRefusesTamperedPaths) {
  SpecialFiles specials;
  SpecialFile tty = record_of("dev/tty 1", SpecialKind::block_device, 0620);
  tty.major = 4;
  tty.minor = 1;
  tty.uid = 100000;
  specials.record(tty);
  specials.warn("left out");
  auto back = special_files_from_json(to_json(specials).dump());
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_NE(back->find("dev/tty 1"), nullptr);
  EXPECT_EQ(back->find("dev/tty 1")->minor, 1u);
  EXPECT_EQ(back->find("dev/tty 1")->uid, 100000u);
  EXPECT_EQ(back->warnings(), std::vector<std::string>{"left out"});
  for (const char* bad : {R"({"files":[{"path":"a\nb","type":"fifo","mode":384,"uid":0,"gid":0}]})",
                          R"({"files":[{"path":"../x","type":"fifo","mode":384,"uid":0,"gid":0}]})",
                          R"({"files":[{"path":"x","type":"socket","mode":384,"uid":0,"gid":0}]})",
                          R"({"files":[{"path":"x","type":"fifo"}]})", "[]"}) {
    EXPECT_FALSE(special_files_from_json(bad)) << bad;
  }
}

}  // namespace
}  // namespace microagent::image
