// runtime.json's one type: what every writer writes is what every reader
// reads, and a damaged file reads as absent fields, never as a crash or a pid
// to signal.
#include "supervisor/runtime_record.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include <unistd.h>

namespace microagent::supervisor {
namespace {

using nlohmann::json;

RuntimeRecord full_record() {
  RuntimeRecord r;
  r.runtime_id = "ws";
  r.shim_pid = 4242;
  r.qemu_pid = 4343;
  r.qemu_argv = {"qemu-system-x86_64", "-M", "microvm"};
  r.accel = "tcg";
  r.accel_reason = "pvm host";
  r.kernel_path = "/k";
  r.initrd_path = "/i";
  r.rootfs_path = "/r.ext4";
  r.kernel_cmdline = "console=ttyS0";
  r.vsock_device = "thread";
  r.sockets = RuntimeSockets{"/s/vhost", "/s/vsock", "/s/qmp", "/s/serial.in"};
  RuntimeNetwork network;
  network.assignment.mode = protocol::NetworkMode::nat;
  network.assignment.tap = "ma-tap0";
  network.assignment.guest_address = "10.213.0.6";
  network.assignment.prefix = 30;
  network.assignment.forwards.push_back({"127.0.0.1", 8080, 80, "tcp"});
  network.runtime_key = "ws@state";
  network.passt_pid = 4444;
  network.passt_dir = "/s/passt";
  r.network = network;
  r.started_at = "2026-12-05T05:00:00.000Z";
  r.severed_at = "2026-12-05T05:00:01.000Z";
  r.degraded.push_back({"passt", "2026-12-05T05:00:02.000Z", "passt exited"});
  r.qemu_exited = true;
  r.exited_at = "2026-12-05T05:00:03.000Z";
  r.qemu_exit = "exited with status 0";
  return r;
}

TEST(RuntimeRecord, RoundTripsEveryField) {
  const auto back = runtime_record_from_json(json::parse(to_json(full_record()).dump()));
  const auto want = full_record();
  EXPECT_EQ(back.runtime_id, want.runtime_id);
  EXPECT_EQ(back.shim_pid, 4242);
  EXPECT_EQ(back.qemu_pid, 4343);
  EXPECT_EQ(back.qemu_argv, want.qemu_argv);
  EXPECT_EQ(back.accel_reason, "pvm host");
  EXPECT_EQ(back.kernel_cmdline, "console=ttyS0");
  ASSERT_TRUE(back.sockets);
  EXPECT_EQ(back.sockets->vsock, "/s/vsock");
  EXPECT_EQ(back.sockets->serial_in, "/s/serial.in");
  ASSERT_TRUE(back.network);
  EXPECT_EQ(back.network->assignment.tap, "ma-tap0");
  EXPECT_EQ(back.network->assignment.prefix, 30);
  ASSERT_EQ(back.network->assignment.forwards.size(), 1u);
  EXPECT_EQ(back.network->assignment.forwards[0].host_port, 8080);
  EXPECT_EQ(back.network->passt_pid, 4444);
  EXPECT_EQ(back.network->runtime_key, "ws@state");
  ASSERT_EQ(back.degraded.size(), 1u);
  EXPECT_EQ(back.degraded[0].component, "passt");
  EXPECT_TRUE(back.qemu_exited);
  EXPECT_EQ(back.qemu_exit, "exited with status 0");
}

TEST(RuntimeRecord, DamagedFieldsReadAsAbsent) {
  // A pid that is not a positive int (0, -1: kill(-1) signals everything),
  // strings where objects belong, and the wrong JSON types throughout.
  const auto r = runtime_record_from_json(json::parse(R"({
      "backend": 7, "runtimeID": ["ws"], "shimPid": -1, "qemuPid": "4343", "supervisorPid": 1e12,
      "qemuArgv": ["ok", 3, null], "sockets": "vsock", "network": [1], "degraded": [1, {"component": 2}],
      "qemuExited": "yes", "foreground": 1})"));
  EXPECT_EQ(r.backend, "linux-kvm");
  EXPECT_EQ(r.runtime_id, "");
  EXPECT_EQ(r.shim_pid, 0);
  EXPECT_EQ(r.qemu_pid, 0);
  EXPECT_EQ(r.supervisor_pid, 0);
  EXPECT_EQ(r.qemu_argv, std::vector<std::string>{"ok"});
  EXPECT_FALSE(r.sockets);
  EXPECT_FALSE(r.network);
  ASSERT_EQ(r.degraded.size(), 1u);
  EXPECT_EQ(r.degraded[0].component, "");
  EXPECT_FALSE(r.qemu_exited);
  EXPECT_FALSE(r.foreground);
  EXPECT_EQ(runtime_record_from_json(json::array()).qemu_pid, 0);
}

class RuntimeRecordStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = "/tmp/ma-record-XXXXXX";
    root = ::mkdtemp(pattern.data());
  }
  void TearDown() override { std::filesystem::remove_all(root); }
  std::filesystem::path root;
};

TEST_F(RuntimeRecordStoreTest, WritesAndReadsThroughTheStore) {
  RuntimeStore store(root, protocol::RuntimeId::parse("ws").value());
  ASSERT_TRUE(store.create());
  auto absent = read_runtime_record(store);
  ASSERT_TRUE(absent);
  EXPECT_FALSE(absent->has_value());
  ASSERT_TRUE(write_runtime_record(store, full_record()));
  auto read = read_runtime_record(store);
  ASSERT_TRUE(read && read->has_value());
  EXPECT_EQ((*read)->qemu_pid, 4343);
}

TEST_F(RuntimeRecordStoreTest, AFileThatIsNotJsonIsAnErrorNotAnEmptyRecord) {
  RuntimeStore store(root, protocol::RuntimeId::parse("ws").value());
  ASSERT_TRUE(store.create());
  std::ofstream(store.runtime_path()) << "{\"qemuPid\": 12";
  EXPECT_FALSE(read_runtime_record(store));
}

}  // namespace
}  // namespace microagent::supervisor
