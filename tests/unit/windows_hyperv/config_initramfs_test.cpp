// The portable newc writer (config_initramfs.hpp) read back by GNU cpio, the
// kernel artifact's initrd + config archive layout, and a foreground run over
// the fake host whose 8 KiB env cannot ride on the kernel command line.
#include <gtest/gtest.h>

#include "backend_fixture.hpp"
#include "backends/windows_hyperv/config_initramfs.hpp"
#include "common/guest_wire.hpp"
#include "common/process.hpp"

namespace microagent::windows_hyperv::testing {
namespace {

using nlohmann::json;

class NewcTest : public BackendTest {
 protected:
  // `cpio ARGS` in `cwd` with `archive` on stdin.
  CommandOutput cpio(const std::vector<std::string>& args, const std::string& archive,
                     const std::filesystem::path& cwd) {
    std::vector<std::string> argv{"sh", "-c", "cd \"$0\" && exec cpio --quiet \"$@\"", cwd.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto out = run_command(argv, archive);
    EXPECT_TRUE(out) << (out ? "" : out.error().message);
    return out ? *out : CommandOutput{};
  }
};

std::uint32_t header_field(const std::string& archive, std::size_t header, int index) {
  return static_cast<std::uint32_t>(std::stoul(archive.substr(header + 6 + 8 * static_cast<std::size_t>(index), 8), nullptr, 16));
}

TEST_F(NewcTest, HeadersFollowTheKernelFormat) {
  const std::string archive = newc_archive({{"d", kNewcDirectory | 0755, {}}, {"d/f", kNewcRegularFile | 0600, "hello"}});
  EXPECT_EQ(archive.size() % 4, 0u);
  EXPECT_EQ(archive.substr(0, 6), "070701");
  // First entry: the directory, nlink 2, no data, name "d\0" padded to 4 (110 + 2 -> 112).
  EXPECT_EQ(header_field(archive, 0, 1), kNewcDirectory | 0755);
  EXPECT_EQ(header_field(archive, 0, 4), 2u);
  EXPECT_EQ(header_field(archive, 0, 6), 0u);
  EXPECT_EQ(header_field(archive, 0, 11), 2u);
  EXPECT_EQ(archive.substr(110, 2), std::string("d\0", 2));
  // Second: 110 + "d/f\0" = 114 -> 116, then 5 bytes of data -> padded to 124.
  const std::size_t second = 112;
  EXPECT_EQ(archive.substr(second, 6), "070701");
  EXPECT_EQ(header_field(archive, second, 1), kNewcRegularFile | 0600);
  EXPECT_EQ(header_field(archive, second, 6), 5u);
  EXPECT_EQ(header_field(archive, second, 11), 4u);
  EXPECT_EQ(archive.substr(second + 116, 5), "hello");
  EXPECT_EQ(archive.substr(second + 121, 3), std::string(3, '\0'));
  // The trailer closes it.
  const std::size_t trailer = second + 124;
  EXPECT_EQ(header_field(archive, trailer, 11), 11u);
  EXPECT_EQ(archive.substr(trailer + 110, 11), std::string("TRAILER!!!\0", 11));
  EXPECT_EQ(archive.size(), trailer + 124);
}

TEST_F(NewcTest, CpioListsAndExtractsTheConfigArchive) {
  const std::string config = R"({"argv":["/bin/sh","-c","echo hi"],"env":{"A":"b"}})";
  const std::string archive = config_archive(config);
  const auto listed = cpio({"-t"}, archive, dir);
  EXPECT_TRUE(listed.status.success()) << listed.err;
  EXPECT_EQ(listed.out, "microagent\nmicroagent/config.json\n");
  const auto out = dir / "extract";
  std::filesystem::create_directories(out);
  const auto extracted = cpio({"-i", "--no-absolute-filenames"}, archive, out);
  EXPECT_TRUE(extracted.status.success()) << extracted.err;
  EXPECT_EQ(read(out / "microagent" / "config.json"), config);
  const auto perms = std::filesystem::status(out / "microagent" / "config.json").permissions();
  EXPECT_EQ(perms & std::filesystem::perms::all, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

// A base whose size is not a multiple of 4: zero padding, then the config archive.
TEST_F(NewcTest, TheConfigArchiveFollowsTheBaseOnAFourByteBoundary) {
  const auto base_dir = dir / "base";
  std::filesystem::create_directories(base_dir / "lib");
  write(base_dir / "init", "#!/bin/sh\n");
  const auto base_cpio = cpio({"-o", "-H", "newc"}, "init\nlib\n", base_dir);
  ASSERT_TRUE(base_cpio.status.success()) << base_cpio.err;
  const std::string base = base_cpio.out + "xyz";  // 3 stray bytes: misaligned on purpose
  write(dir / "initrd.img", base);
  const auto combined_path = dir / "combined.cpio";
  ASSERT_TRUE(write_initrd_with_config(dir / "initrd.img", "{}", combined_path));
  const std::string combined = read(combined_path);
  const std::size_t aligned = (base.size() + 3) & ~std::size_t{3};
  ASSERT_EQ(combined.substr(0, base.size()), base);
  EXPECT_EQ(combined.substr(base.size(), aligned - base.size()), std::string(aligned - base.size(), '\0'));
  EXPECT_EQ(combined.substr(aligned), config_archive("{}"));
  const auto listed = cpio({"-t"}, combined.substr(aligned), dir);
  EXPECT_EQ(listed.out, "microagent\nmicroagent/config.json\n");
  // The base archive is untouched and still reads.
  EXPECT_EQ(cpio({"-t"}, combined, dir).out, "init\nlib\n");
}

TEST_F(NewcTest, MissingBaseInitrdIsAnErrorNamingIt) {
  auto result = write_initrd_with_config(dir / "no-such-initrd", "{}", dir / "out.cpio");
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("no-such-initrd"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir / "out.cpio"));
}

// `run` with an 8 KiB env: the document names the combined initrd, the VM may
// open it, and the guest finds its whole config in it.
TEST_F(NewcTest, RunWithALargeEnvBootsTheCombinedInitrd) {
  json cfg = config();
  cfg["env"] = {{"BIG", std::string(8192, 'e')}};
  const auto response = send("run", cfg);
  ASSERT_EQ(response.exit_code, 0) << response.body.dump();
  EXPECT_EQ(state_of(response), "stopped");
  const auto combined = state / "ws1" / std::string(kInitrdWithConfigName);
  ASSERT_TRUE(std::filesystem::exists(combined));
  const json doc = json::parse(host.documents.at("microagent-ws1"));
  const auto& direct = doc["VirtualMachine"]["Chipset"]["LinuxKernelDirect"];
  EXPECT_EQ(direct["InitRdPath"], combined.string());
  EXPECT_EQ(direct["KernelCmdLine"].get<std::string>().find("microagent.config="), std::string::npos);
  EXPECT_EQ(runtime()["initrdPath"], combined.string());
  EXPECT_NE(std::find(host.grants.begin(), host.grants.end(), std::make_pair(std::string("microagent-ws1"), combined.string())),
            host.grants.end());
  // The artifact's initrd ("initrd", 6 bytes -> padded to 8), then the config archive.
  const std::string bytes = read(combined);
  EXPECT_EQ(bytes.substr(0, 8), std::string("initrd\0\0", 8));
  const auto out = dir / "guest-root";
  std::filesystem::create_directories(out);
  EXPECT_TRUE(cpio({"-i"}, bytes.substr(8), out).status.success());
  auto guest = guest_config_from_json(read(out / "microagent" / "config.json"));
  ASSERT_TRUE(guest) << guest.error().message;
  EXPECT_EQ(guest->env.at("BIG"), std::string(8192, 'e'));
  EXPECT_EQ(guest->argv, (std::vector<std::string>{"/bin/sh", "-c", "echo hi"}));
}

// A small config stays on the command line and the artifact's initrd is used as is.
TEST_F(NewcTest, SmallConfigKeepsTheArtifactInitrd) {
  ASSERT_EQ(send("run").exit_code, 0);
  const json doc = json::parse(host.documents.at("microagent-ws1"));
  EXPECT_EQ(doc["VirtualMachine"]["Chipset"]["LinuxKernelDirect"]["InitRdPath"], (dir / "initrd.img").string());
  EXPECT_FALSE(std::filesystem::exists(state / "ws1" / std::string(kInitrdWithConfigName)));
}

}  // namespace
}  // namespace microagent::windows_hyperv::testing
