// Images as root disks, end to end through the CLI: a rootfs imported into the
// image store boots as / (guest init switches root into a copy-on-write
// overlay), the image's user and files are what the workload sees, writes
// survive halt/start of a named workspace and never reach the cached base,
// the manifest catches a changed base, and data disks and volumes mount with
// the mode asked for.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "common/sha256.hpp"
#include "e2e_support.hpp"

namespace microagent::e2e {
namespace {

using nlohmann::json;

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// A tiny distro: static busybox, a passwd with an unprivileged user, a marker.
std::filesystem::path make_rootfs(const std::filesystem::path& dir) {
  const auto rootfs = dir / "rootfs";
  std::filesystem::create_directories(rootfs / "bin");
  std::filesystem::copy_file("/bin/busybox", rootfs / "bin" / "busybox");
  for (const char* applet : {"sh", "cat", "echo", "id", "ls", "mount", "touch", "rm", "grep"}) {
    std::filesystem::create_symlink("busybox", rootfs / "bin" / applet);
  }
  write_text(rootfs / "etc" / "passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n");
  write_text(rootfs / "etc" / "group", "root:x:0:\napp:x:1000:\n");
  write_text(rootfs / "etc" / "release", "image-release\n");
  std::filesystem::create_directories(rootfs / "home" / "app");
  ::chown((rootfs / "home" / "app").c_str(), 1000, 1000);
  return rootfs;
}

std::string sha_of(const std::filesystem::path& path) { return sha256_file(path).value_or("unreadable"); }

class ImageWorkspaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(kernel_available()) << "run `build/bin/microagent kernel fetch`";
    auto import = run_cli(tmp.path, {"image", "import", make_rootfs(tmp.path / "src").string(), "--name", "tiny:1"});
    ASSERT_EQ(import.exit_code, 0) << import.out << import.err;
  }
  void TearDown() override {
    run_cli(tmp.path, {"kill", "ws"});
    run_cli(tmp.path, {"delete", "ws"});
  }

  // Connect is served once guest init says so (readiness), not when QEMU runs.
  bool wait_shell_ready() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      auto event = inspect();
      if (event.is_object() && event["readiness"]["shellReady"]["ready"] == true) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  }

  json inspect(const std::string& verb = "inspect") {
    auto run = run_cli(tmp.path, {"--json", verb, "ws"});
    return json::parse(run.out, nullptr, false);
  }

  TempDir tmp;
};

TEST_F(ImageWorkspaceTest, RunBootsTheImageAsRootAndNeverWritesTheBase) {
  auto run = run_cli(tmp.path, {"run", "--name", "r1", "--image", "tiny:1", "--", "/bin/sh", "-c",
                                "cat /etc/release; grep ' / ' /proc/mounts; echo changed > /etc/release; cat /etc/release"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("image-release\n/dev/vda / ext4 rw"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("changed"), std::string::npos);

  const auto runtime = read_json(tmp.path / "r1" / "runtime.json");
  const std::filesystem::path base = runtime.value("rootfsPath", "");
  ASSERT_TRUE(std::filesystem::is_regular_file(base)) << runtime.dump();
  const std::string base_sha = sha_of(base);
  EXPECT_FALSE(std::filesystem::exists(tmp.path / "r1" / "rootfs.qcow2")) << "the run's overlay outlived it";

  // A second run starts from the image again: the first run's write is gone.
  auto again = run_cli(tmp.path, {"run", "--name", "r1", "--image", "tiny:1", "--", "cat", "/etc/release"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, "image-release\n");
  EXPECT_EQ(sha_of(base), base_sha);
}

TEST_F(ImageWorkspaceTest, UserFlagAndImageUserRunTheWorkloadUnprivileged) {
  auto run = run_cli(tmp.path, {"run", "--image", "tiny:1", "--user", "app", "--", "/bin/sh", "-c",
                                "id -u; id -g; echo $HOME; touch /etc/x 2>/dev/null || echo denied"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "1000\n1000\n/home/app\ndenied\n");
  auto unknown = run_cli(tmp.path, {"run", "--image", "tiny:1", "--user", "ghost", "--", "true"});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find("ghost"), std::string::npos) << unknown.err;
}

// `connect` runs as the workspace's user, as `docker exec` does; --user overrides.
TEST_F(ImageWorkspaceTest, ConnectRunsAsTheWorkspaceUser) {
  auto start = run_cli(tmp.path, {"start", "ws", "--image", "tiny:1", "--user", "app"});
  ASSERT_EQ(start.exit_code, 0) << start.err;
  ASSERT_TRUE(wait_shell_ready());
  auto as_app = run_cli(tmp.path, {"connect", "ws", "--send", "id -u; echo $HOME"});
  EXPECT_EQ(as_app.exit_code, 0) << as_app.err;
  EXPECT_EQ(as_app.out, "1000\n/home/app\n");
  auto as_root = run_cli(tmp.path, {"connect", "ws", "--user", "root", "--send", "id -u"});
  EXPECT_EQ(as_root.out, "0\n") << as_root.err;
  auto unknown = run_cli(tmp.path, {"connect", "ws", "--user", "ghost", "--send", "true"});
  EXPECT_EQ(unknown.exit_code, 126);
  EXPECT_NE(unknown.err.find("ghost"), std::string::npos) << unknown.err;
}

// halt gives the guest's processes a grace period between SIGTERM and SIGKILL:
// 2 s by default, `halt --grace N` for a workload that needs longer to finish.
TEST_F(ImageWorkspaceTest, HaltGraceLetsAWorkloadFinishOnSigterm) {
  const std::string workload = "trap 'sleep 3; echo finished > /marker; sync; exit 0' TERM; while :; do sleep 1; done";
  ASSERT_EQ(run_cli(tmp.path, {"start", "ws", "--image", "tiny:1", "--", "/bin/sh", "-c", workload}).exit_code, 0);
  ASSERT_TRUE(wait_shell_ready());
  ASSERT_EQ(run_cli(tmp.path, {"halt", "ws"}).exit_code, 0);  // 2 s: killed before it writes
  ASSERT_EQ(run_cli(tmp.path, {"start", "ws"}).exit_code, 0);
  ASSERT_TRUE(wait_shell_ready());
  EXPECT_EQ(run_cli(tmp.path, {"connect", "ws", "--send", "cat /marker 2>/dev/null || echo absent"}).out, "absent\n");
  auto halt = run_cli(tmp.path, {"halt", "ws", "--grace", "10"});
  ASSERT_EQ(halt.exit_code, 0) << halt.err;
  EXPECT_EQ(inspect()["state"], "halted");
  ASSERT_EQ(run_cli(tmp.path, {"start", "ws"}).exit_code, 0);
  ASSERT_TRUE(wait_shell_ready());
  EXPECT_EQ(run_cli(tmp.path, {"connect", "ws", "--send", "cat /marker"}).out, "finished\n");
  auto bad = run_cli(tmp.path, {"halt", "ws", "--grace", "601"});
  EXPECT_NE(bad.exit_code, 0);
}

TEST_F(ImageWorkspaceTest, RootWritesSurviveHaltAndStartAndTheManifestCatchesAChangedBase) {
  auto start = run_cli(tmp.path, {"start", "ws", "--image", "tiny:1"});
  ASSERT_EQ(start.exit_code, 0) << start.err;
  ASSERT_TRUE(wait_shell_ready());
  auto write = run_cli(tmp.path, {"connect", "ws", "--send", "echo kept > /var-file; sync"});
  ASSERT_EQ(write.exit_code, 0) << write.out << write.err;
  ASSERT_EQ(run_cli(tmp.path, {"halt", "ws"}).exit_code, 0);

  auto manifest = inspect()["manifest"];
  ASSERT_TRUE(manifest.is_object()) << inspect().dump();
  EXPECT_EQ(manifest["image"]["reference"], "tiny:1");
  const std::filesystem::path base = manifest["rootfs"]["path"].get<std::string>();
  EXPECT_EQ(manifest["rootfs"]["sha256"], sha_of(base));
  for (const char* item : {"kernel", "initrd", "guestinit"}) EXPECT_EQ(manifest[item].value("sha256", "").size(), 64u) << item;

  ASSERT_EQ(run_cli(tmp.path, {"start", "ws"}).exit_code, 0);
  ASSERT_TRUE(wait_shell_ready());
  auto read = run_cli(tmp.path, {"connect", "ws", "--send", "cat /var-file"});
  EXPECT_EQ(read.out, "kept\n") << read.err;
  ASSERT_EQ(run_cli(tmp.path, {"stop", "ws"}).exit_code, 0);
  EXPECT_EQ(sha_of(base), manifest["rootfs"]["sha256"]) << "the guest's write reached the cached base";

  auto verified = run_cli(tmp.path, {"status", "ws"});
  EXPECT_EQ(verified.exit_code, 0) << verified.out;
  EXPECT_NE(verified.out.find("verified"), std::string::npos) << verified.out;

  // Someone changes the base behind the workspace's back.
  ::chmod(base.c_str(), 0644);
  std::ofstream(base, std::ios::binary | std::ios::app) << "tampered";
  auto diverged = run_cli(tmp.path, {"--json", "status", "ws"});
  EXPECT_EQ(diverged.exit_code, 1) << diverged.out;
  auto report = json::parse(diverged.out, nullptr, false);
  ASSERT_TRUE(report.is_object()) << diverged.out;
  ASSERT_EQ(report["manifest"]["divergences"].size(), 1u) << diverged.out;
  EXPECT_EQ(report["manifest"]["divergences"][0]["item"], "rootfs");
  auto refused = run_cli(tmp.path, {"start", "ws"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("changed since this workspace was created"), std::string::npos) << refused.err;

  // The image cannot go while the workspace boots from it.
  auto rm = run_cli(tmp.path, {"image", "rm", "tiny:1"});
  EXPECT_EQ(rm.exit_code, 125);
  EXPECT_NE(rm.err.find("workspace(s) ws"), std::string::npos) << rm.err;
  ASSERT_EQ(run_cli(tmp.path, {"delete", "ws"}).exit_code, 0);
  EXPECT_EQ(run_cli(tmp.path, {"image", "rm", "tiny:1"}).exit_code, 0);
}

TEST_F(ImageWorkspaceTest, DataDisksAndVolumesMountWithTheirModes) {
  const auto data = tmp.path / "data";
  write_text(data / "host-file", "from the host\n");
  const auto rw_disk = tmp.path / "rw.ext4";
  const auto ro_disk = tmp.path / "ro.ext4";
  for (const auto& disk : {rw_disk, ro_disk}) {
    auto made = run_command({"mke2fs", "-q", "-F", "-t", "ext4", "-d", data.string(), disk.string(), "16M"});
    ASSERT_TRUE(made && made->status.success());
  }
  const std::string script =
      "cat /ro/host-file /vol/host-file;"
      "echo guest > /rw/guest-file && echo rw-ok;"
      "echo x > /ro/x 2>/dev/null || echo ro-refused;"
      "echo x > /vol/x 2>/dev/null || echo vol-refused;"
      "grep -E ' /(rw|ro|vol) ' /proc/mounts | cut -d' ' -f1,2,4 | cut -d, -f1";
  auto run = run_cli(tmp.path, {"run", "--image", "tiny:1", "--disk", rw_disk.string() + ":/rw:rw", "--disk",
                                ro_disk.string() + ":/ro:ro", "--volume", data.string() + ":/vol:ro", "--", "/bin/sh",
                                "-c", script});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out,
            "from the host\nfrom the host\nrw-ok\nro-refused\nvol-refused\n"
            "/dev/vdb /rw rw\n/dev/vdc /ro ro\n/dev/vdd /vol ro\n");
  // The read-write disk kept the guest's file; the host directory behind the volume did not change.
  auto debugfs = run_command({"debugfs", "-R", "cat /guest-file", rw_disk.string()});
  ASSERT_TRUE(debugfs);
  EXPECT_EQ(debugfs->out, "guest\n");
  EXPECT_FALSE(std::filesystem::exists(data / "x"));
  EXPECT_TRUE(std::filesystem::is_empty(tmp.path / "tmp") || !std::filesystem::exists(tmp.path / "tmp"))
      << "the run's volume copies outlived it";
}

// The acceptance image: two umoci-built layers, the second deleting a file of
// the first and replacing a directory with an opaque whiteout; its Cmd runs
// when no command is given, from the OCI layout and from skopeo's docker-archive.
TEST(ImageAcceptance, UmociTwoLayerImageRunsItsCmdWithWhiteoutsApplied) {
  ASSERT_TRUE(kernel_available());
  TempDir tmp;
  const auto layout = tmp.path / "layout";
  const auto bundle = tmp.path / "bundle";
  auto tool = [](const std::vector<std::string>& argv) {
    auto out = run_command(argv);
    ASSERT_TRUE(out && out->status.success()) << argv[0] << " " << argv[1] << ": " << (out ? out->err : out.error().message);
  };
  tool({"umoci", "init", "--layout", layout.string()});
  tool({"umoci", "new", "--image", layout.string() + ":app"});
  tool({"umoci", "unpack", "--image", layout.string() + ":app", bundle.string()});
  const auto rootfs = bundle / "rootfs";
  std::filesystem::create_directories(rootfs / "bin");
  std::filesystem::copy_file("/bin/busybox", rootfs / "bin" / "busybox");
  std::filesystem::create_symlink("busybox", rootfs / "bin" / "sh");
  std::filesystem::create_symlink("busybox", rootfs / "bin" / "ls");
  std::filesystem::create_symlink("busybox", rootfs / "bin" / "cat");
  write_text(rootfs / "etc" / "gone", "deleted by layer 2\n");
  write_text(rootfs / "etc" / "conf" / "old", "hidden by the opaque whiteout\n");
  tool({"umoci", "repack", "--image", layout.string() + ":app", bundle.string()});
  // Layer 2: umoci writes no opaque markers, so this one is a tar made here.
  const auto layer2 = tmp.path / "layer2";
  write_text(layer2 / "etc" / ".wh.gone", "");
  write_text(layer2 / "etc" / "conf" / ".wh..wh..opq", "");
  write_text(layer2 / "etc" / "conf" / "new", "layer 2\n");
  tool({"tar", "-C", layer2.string(), "-cf", (tmp.path / "layer2.tar").string(), "etc"});
  tool({"umoci", "raw", "add-layer", "--image", layout.string() + ":app", (tmp.path / "layer2.tar").string()});
  tool({"umoci", "config", "--image", layout.string() + ":app", "--config.cmd", "/bin/sh", "--config.cmd", "-c",
        "--config.cmd", "ls /etc/conf; cat /etc/gone 2>/dev/null || echo gone-absent; echo $GREETING; pwd",
        "--config.env", "GREETING=from-the-image", "--config.workingdir", "/etc"});
  const auto archive = tmp.path / "app.docker.tar";
  tool({"skopeo", "copy", "--quiet", "oci:" + layout.string() + ":app", "docker-archive:" + archive.string() + ":app:1"});

  const std::string expected = "new\ngone-absent\nfrom-the-image\n/etc\n";
  auto oci = run_cli(tmp.path, {"image", "import", layout.string(), "--name", "oci-app"});
  ASSERT_EQ(oci.exit_code, 0) << oci.err;
  auto run = run_cli(tmp.path, {"run", "--image", "oci-app"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, expected);

  auto docker = run_cli(tmp.path, {"image", "import", archive.string(), "--name", "docker-app"});
  ASSERT_EQ(docker.exit_code, 0) << docker.err;
  auto from_docker = run_cli(tmp.path, {"run", "--image", "docker-app"});
  EXPECT_EQ(from_docker.exit_code, 0) << from_docker.err;
  EXPECT_EQ(from_docker.out, expected);
  auto a = json::parse(run_cli(tmp.path, {"--json", "image", "inspect", "oci-app"}).out, nullptr, false);
  auto b = json::parse(run_cli(tmp.path, {"--json", "image", "inspect", "docker-app"}).out, nullptr, false);
  ASSERT_TRUE(a.is_object() && b.is_object());
  EXPECT_EQ(a["image"]["rootfs"]["digest"], b["image"]["rootfs"]["digest"]) << a.dump() << b.dump();
  EXPECT_TRUE(a["image"]["rootfs"]["digest"].is_string());
}

}  // namespace
}  // namespace microagent::e2e
