// `run` over the fake host: the result delivered, serial appended, the
// stopped event, and every fail-closed path leaving no endpoint, no open
// compute-system handle and no running VM behind.
#include "backend_fixture.hpp"

namespace microagent::windows_hyperv::testing {
namespace {

using nlohmann::json;

class RunTest : public BackendTest {
 protected:
  // Nothing a run created outlives it.
  void expect_clean() {
    EXPECT_TRUE(host.endpoints.empty()) << "endpoint left behind";
    EXPECT_TRUE(host.open_handles.empty()) << "compute system handle left open";
    for (const auto& [id, state] : host.systems) EXPECT_EQ(state, ComputeSystemState::stopped) << id;
  }
};

TEST_F(RunTest, DeliversResultAppendsSerialAndStops) {
  // A workspace of an earlier run (marked, so run adopts it) with its serial log.
  ASSERT_TRUE(store().create());
  write(store().serial_log_path(), "earlier boot\n");
  const auto response = send("run");
  ASSERT_EQ(response.exit_code, 0) << response.body.dump();
  EXPECT_EQ(response.body["backend"], "windows-hyperv");
  EXPECT_EQ(state_of(response), "stopped");
  EXPECT_EQ(response.body["event"]["detail"], "workload exited with code 0");
  ASSERT_TRUE(response.body["event"].contains("result"));
  auto result = store().read_result();
  ASSERT_TRUE(result && *result);
  EXPECT_EQ(**result, response.body["event"]["result"]);
  EXPECT_EQ(read(store().serial_log_path()), "earlier boot\n" + host.guest_serial);
  EXPECT_EQ(host.serial_captures_finished, 1);
  EXPECT_EQ(host.captured_pipe, R"(\\.\pipe\microagent-ws1-com1)");
  EXPECT_EQ(history_states(), (std::vector<std::string>{"prepared", "starting", "running", "stopped"}));
  EXPECT_EQ(host.listened_ports, (std::vector<std::uint32_t>{1024}));
  expect_clean();
  ASSERT_EQ(host.deleted_endpoints.size(), 1u);
}

TEST_F(RunTest, DocumentAttachesRootThenDataDisksAndTheEndpoint) {
  ASSERT_EQ(send("run").exit_code, 0);
  const json doc = json::parse(host.documents.at("microagent-ws1"));
  const json& attachments = doc["VirtualMachine"]["Devices"]["Scsi"]["0"]["Attachments"];
  const auto ws = store().workspace_dir();
  EXPECT_EQ(attachments["0"]["Path"], (ws / "rootfs.vhd").string());
  EXPECT_EQ(attachments["0"]["ReadOnly"], false);
  EXPECT_EQ(attachments["1"]["Path"], (ws / "disk-0.vhd").string());
  EXPECT_EQ(attachments["1"]["ReadOnly"], true);
  EXPECT_TRUE(std::filesystem::exists(ws / "rootfs.vhd"));
  EXPECT_TRUE(std::filesystem::exists(ws / "disk-0.vhd"));
  EXPECT_EQ(doc["ShouldTerminateOnLastHandleClosed"], true);
  ASSERT_EQ(doc["VirtualMachine"]["Devices"]["NetworkAdapters"].size(), 1u);
  // Kernel, initrd and both VHDs were granted to the VM.
  std::set<std::string> granted;
  for (const auto& [id, path] : host.grants) granted.insert(path);
  EXPECT_EQ(granted, (std::set<std::string>{(dir / "kernel" / "vmlinux").string(), (dir / "initrd.img").string(),
                                            (ws / "rootfs.vhd").string(), (ws / "disk-0.vhd").string()}));
  // The guest mounts the data disk read-only at /data from /dev/sdb.
  auto guest = decode_config_from_cmdline(doc["VirtualMachine"]["Chipset"]["LinuxKernelDirect"]["KernelCmdLine"]);
  ASSERT_TRUE(guest) << guest.error().message;
  EXPECT_EQ(guest->root_device, "/dev/sda");
  ASSERT_EQ(guest->disks.size(), 1u);
  EXPECT_EQ(guest->disks[0].device, "/dev/sdb");
  EXPECT_EQ(guest->disks[0].mount, "/data");
  EXPECT_TRUE(guest->disks[0].read_only);
}

TEST_F(RunTest, UserModeCreatesTheManagedNatNetworkOnce) {
  ASSERT_EQ(send("run").exit_code, 0);
  ASSERT_EQ(host.created_networks.size(), 1u);
  EXPECT_EQ(json::parse(host.created_networks[0])["Name"], "microagent-nat");
  ASSERT_EQ(send("run").exit_code, 0);
  EXPECT_EQ(host.created_networks.size(), 1u) << "the second run must reuse microagent-nat";
  EXPECT_EQ(json::parse(host.last_endpoint_settings)["HostComputeNetwork"], host.networks[0].id);
  expect_clean();
}

TEST_F(RunTest, NatModeReusesAnExistingNetwork) {
  host.networks.push_back({"nat-guid", "microagent-nat", "NAT"});
  ASSERT_EQ(send("run", config("nat")).exit_code, 0);
  EXPECT_TRUE(host.created_networks.empty());
  EXPECT_EQ(runtime()["network"]["networkId"], "nat-guid");
  EXPECT_EQ(runtime()["network"]["endpointId"], "");
  EXPECT_FALSE(runtime()["releasedEndpointId"].get<std::string>().empty());
}

TEST_F(RunTest, IsolatedHasNoAdapterAndNoEndpoint) {
  ASSERT_EQ(send("run", config("isolated")).exit_code, 0);
  const json doc = json::parse(host.documents.at("microagent-ws1"));
  EXPECT_FALSE(doc["VirtualMachine"]["Devices"].contains("NetworkAdapters"));
  EXPECT_TRUE(host.created_networks.empty());
  EXPECT_TRUE(host.deleted_endpoints.empty());
}

TEST_F(RunTest, BridgedAttachesToTheNamedNetwork) {
  host.networks.push_back({"ext-guid", "External", "Transparent"});
  json cfg = config("bridged");
  cfg["network"]["interface"] = "External";
  ASSERT_EQ(send("run", cfg).exit_code, 0);
  EXPECT_EQ(json::parse(host.last_endpoint_settings)["HostComputeNetwork"], "ext-guid");
  expect_clean();
}

TEST_F(RunTest, BridgedWithoutTheNamedNetworkFailsClosed) {
  json cfg = config("bridged");
  cfg["network"]["interface"] = "NoSuchSwitch";
  const auto response = send("run", cfg);
  EXPECT_EQ(response.exit_code, 1);
  EXPECT_EQ(error_code(response), "not_found");
  EXPECT_NE(response.body["error"]["message"].get<std::string>().find("NoSuchSwitch"), std::string::npos);
  EXPECT_TRUE(host.systems.empty()) << "no compute system may be created";
  EXPECT_TRUE(host.endpoints.empty());
  EXPECT_TRUE(host.created_networks.empty());
}

TEST_F(RunTest, NoResultIsFailedAndCleanedUp) {
  host.guest_result.reset();
  host.guest_powers_off_after_result = false;
  const auto response = send("run");
  ASSERT_EQ(response.exit_code, 0) << response.body.dump();
  EXPECT_EQ(state_of(response), "failed");
  EXPECT_NE(response.body["event"]["detail"].get<std::string>().find("no result from the guest"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(store().result_path()));
  EXPECT_EQ(read(store().serial_log_path()), host.guest_serial);
  expect_clean();
}

TEST_F(RunTest, MalformedResultIsFailed) {
  host.guest_result = "{not json";
  const auto response = send("run");
  EXPECT_EQ(state_of(response), "failed");
  EXPECT_NE(response.body["event"]["detail"].get<std::string>().find("malformed"), std::string::npos);
  expect_clean();
}

// Each step that can fail after the endpoint exists must release it.
TEST_F(RunTest, EveryFailingStepReleasesWhatWasCreated) {
  for (const char* step : {"create_compute_system", "grant_vm_access", "listen_guest_service", "capture_serial",
                           "start_compute_system"}) {
    SCOPED_TRACE(step);
    host.failures = {{step, Error{ErrorCode::internal, std::string(step) + " failed"}}};
    host.endpoints.clear();
    const auto response = send("run", config(), std::string("ws-") + std::to_string(host.calls.size()));
    EXPECT_EQ(response.exit_code, 1);
    EXPECT_EQ(error_code(response), "internal");
    expect_clean();
  }
}

TEST_F(RunTest, RefusesWhileTheSameWorkspaceRuns) {
  host.failures.clear();
  ASSERT_EQ(send("start").exit_code, 0);
  const auto response = send("run");
  EXPECT_EQ(error_code(response), "conflict");
}

TEST_F(RunTest, HostWithoutHcsIsUnavailable) {
  host.caps.hcs = {false, "computecore.dll could not be loaded: error 126"};
  const auto response = send("run");
  EXPECT_EQ(error_code(response), "host_unavailable");
  EXPECT_NE(response.body["error"]["message"].get<std::string>().find("error 126"), std::string::npos);
  EXPECT_NE(response.body["error"]["message"].get<std::string>().find("Enable-WindowsOptionalFeature"),
            std::string::npos);
  EXPECT_FALSE(store().exists());
}

TEST_F(RunTest, AccessDeniedSaysHowToGetAccess) {
  host.caps.hcs_access = {false, "HCS denied access to this user"};
  const auto response = send("run");
  EXPECT_EQ(error_code(response), "permission_denied");
  EXPECT_NE(response.body["error"]["message"].get<std::string>().find("Hyper-V Administrators"), std::string::npos);
}

TEST_F(RunTest, IsolatedRunNeedsNoHcn) {
  host.caps.hcn = {false, "computenetwork.dll missing"};
  EXPECT_EQ(error_code(send("run")), "host_unavailable");
  EXPECT_EQ(send("run", config("isolated")).exit_code, 0);
}

TEST_F(RunTest, BadInputIsInvalidRequest) {
  json cfg = config();
  cfg["disks"][0]["mode"] = "rwx";
  EXPECT_EQ(error_code(send("run", cfg)), "invalid_request");
  cfg = config("wifi");
  EXPECT_EQ(error_code(send("run", cfg)), "invalid_request");
  cfg = config();
  cfg["rootfsPath"] = (dir / "missing.ext4").string();
  EXPECT_EQ(error_code(send("run", cfg)), "not_found");
  cfg = config();
  cfg["network"]["portForwards"] = {{{"host", "127.0.0.1"}, {"hostPort", 8080}, {"guestPort", 80}, {"protocol", "udp"}}};
  EXPECT_EQ(error_code(send("run", cfg)), "invalid_request");  // the protocol knows tcp only
  EXPECT_TRUE(host.systems.empty());
}

TEST_F(RunTest, CheckAnswersWithoutCreatingAnything) {
  const auto response = send("check");
  EXPECT_EQ(response.exit_code, 0) << response.body.dump();
  EXPECT_TRUE(host.systems.empty());
  host.caps.hvsocket = {false, "socket(AF_HYPERV) failed"};
  EXPECT_EQ(error_code(send("check")), "host_unavailable");
}

}  // namespace
}  // namespace microagent::windows_hyperv::testing
