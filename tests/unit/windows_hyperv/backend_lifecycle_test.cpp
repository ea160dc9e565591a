// The detached lifecycle over the fake host (docs/lifecycle.md transitions):
// prepare, start, inspect, halt, quarantine, stop, kill, delete, console, and
// the endpoint and listener helper released on every path that ends a VM.
#include "backend_fixture.hpp"

namespace microagent::windows_hyperv::testing {
namespace {

using nlohmann::json;

class LifecycleTest : public BackendTest {
 protected:
  void start_ok() {
    const auto response = send("start");
    ASSERT_EQ(response.exit_code, 0) << response.body.dump();
    ASSERT_EQ(state_of(response), "running");
  }
  void expect_released() {
    EXPECT_TRUE(host.endpoints.empty()) << "endpoint left behind";
    EXPECT_TRUE(host.live_processes.empty()) << "listener helper left running";
    EXPECT_TRUE(host.open_handles.empty()) << "compute system handle left open";
    EXPECT_EQ(host.systems["microagent-ws1"], ComputeSystemState::stopped);
  }
};

TEST_F(LifecycleTest, PrepareWritesDisksWithoutAComputeSystem) {
  const auto response = send("prepare");
  ASSERT_EQ(response.exit_code, 0) << response.body.dump();
  EXPECT_EQ(state_of(response), "prepared");
  EXPECT_TRUE(std::filesystem::exists(store().workspace_dir() / "rootfs.vhd"));
  EXPECT_TRUE(std::filesystem::exists(store().workspace_dir() / "disk-0.vhd"));
  EXPECT_TRUE(host.systems.empty());
  EXPECT_TRUE(host.endpoints.empty());
}

TEST_F(LifecycleTest, StartRecordsTheHcsIdentity) {
  start_ok();
  const json rt = runtime();
  EXPECT_EQ(rt["backend"], "windows-hyperv");
  EXPECT_EQ(rt["computeSystemId"], "microagent-ws1");
  EXPECT_EQ(rt["detached"], true);
  EXPECT_EQ(rt["com1Pipe"], R"(\\.\pipe\microagent-ws1-com1)");
  EXPECT_EQ(rt["network"]["networkName"], "microagent-nat");
  EXPECT_FALSE(rt["network"]["endpointId"].get<std::string>().empty());
  EXPECT_EQ(rt["listenerPid"], 4001);
  EXPECT_EQ(host.systems["microagent-ws1"], ComputeSystemState::running);
  const json doc = json::parse(host.documents.at("microagent-ws1"));
  EXPECT_EQ(doc["ShouldTerminateOnLastHandleClosed"], false);
  ASSERT_EQ(host.helpers.size(), 1u);
  EXPECT_EQ(host.helpers[0].compute_system_id, "microagent-ws1");
  EXPECT_EQ(host.helpers[0].com1_pipe, R"(\\.\pipe\microagent-ws1-com1)");
  EXPECT_EQ(history_states(), (std::vector<std::string>{"starting", "running"}));
}

TEST_F(LifecycleTest, StartPassesPublishedPortsAndMediationToTheHelper) {
  json cfg = config();
  cfg["network"]["portForwards"] = {{{"host", "127.0.0.1"}, {"hostPort", 8080}, {"guestPort", 80}, {"protocol", "tcp"}}};
  cfg["mediation"] = {{"port", 2048}, {"target", "127.0.0.1:9900"}, {"required", true}};
  ASSERT_EQ(send("start", cfg).exit_code, 0);
  ASSERT_EQ(host.helpers.size(), 1u);
  ASSERT_EQ(host.helpers[0].port_forwards.size(), 1u);
  EXPECT_EQ(host.helpers[0].port_forwards[0].host_port, 8080);
  ASSERT_TRUE(host.helpers[0].mediation);
  EXPECT_EQ(host.helpers[0].mediation->port, 2048u);
  const json table = json::parse(host.documents.at("microagent-ws1"))["VirtualMachine"]["Devices"]["HvSocket"]
                                                                      ["HvSocketConfig"]["ServiceTable"];
  EXPECT_TRUE(table.contains("00000050-FACB-11E6-BD58-64006A7986D3"));
  EXPECT_TRUE(table.contains("00000800-FACB-11E6-BD58-64006A7986D3"));
}

TEST_F(LifecycleTest, InspectRunningIsNotGuestReady) {
  start_ok();
  const auto response = send("inspect");
  ASSERT_EQ(response.exit_code, 0) << response.body.dump();
  EXPECT_EQ(state_of(response), "running");
  const json readiness = response.body["event"]["readiness"];
  EXPECT_EQ(readiness["guestReady"]["ready"], false);
  EXPECT_EQ(readiness["resultReady"]["ready"], false);
  // Guest init's report (through the helper) is what makes it ready.
  ASSERT_TRUE(store().write_document(store().readiness_path(),
                                     {{"guestReady", {{"ready", true}, {"observedAt", "2026-11-23T00:00:00.000Z"}}}}));
  ASSERT_TRUE(store().write_result({{"exitCode", 0}}));
  const json later = send("inspect").body["event"]["readiness"];
  EXPECT_EQ(later["guestReady"]["ready"], true);
  EXPECT_EQ(later["resultReady"]["ready"], true);
}

TEST_F(LifecycleTest, InspectSettlesAVmThatIsGone) {
  start_ok();
  host.systems["microagent-ws1"] = ComputeSystemState::stopped;  // the guest powered off
  const auto response = send("inspect");
  EXPECT_EQ(state_of(response), "stopped");
  expect_released();
}

// HCS failing to answer is not the VM being gone: nothing is settled or released.
TEST_F(LifecycleTest, InspectKeepsARunningWorkspaceWhenHcsCannotAnswer) {
  start_ok();
  host.failures["compute_system_state"] = Error{ErrorCode::host_unavailable, "computecore.dll not loaded"};
  const auto response = send("inspect");
  EXPECT_EQ(state_of(response), "running") << response.body.dump();
  EXPECT_FALSE(host.endpoints.empty());
  EXPECT_FALSE(host.live_processes.empty());
  EXPECT_EQ(runtime()["exited"], false);
}

TEST_F(LifecycleTest, HaltPassesItsGraceToGuestInit) {
  start_ok();
  EXPECT_EQ(error_code(send("halt", config(), "ws1", {{"graceSeconds", 601}})), "invalid_request");
  ASSERT_EQ(send("halt", config(), "ws1", {{"graceSeconds", 30}}).exit_code, 0);
  EXPECT_EQ(host.control_requests, (std::vector<std::string>{"1026 {\"command\":\"halt\",\"graceMs\":30000}\n"}));
}

TEST_F(LifecycleTest, InspectUnknownIsNotFound) { EXPECT_EQ(error_code(send("inspect")), "not_found"); }

TEST_F(LifecycleTest, HaltShutsDownAndKeepsTheDisk) {
  start_ok();
  const auto response = send("halt");
  ASSERT_EQ(response.exit_code, 0) << response.body.dump();
  EXPECT_EQ(state_of(response), "halted");
  expect_released();
  // Guest init was asked on its control port; HCS had nothing left to do.
  EXPECT_EQ(host.control_requests, (std::vector<std::string>{"1026 {\"command\":\"halt\",\"graceMs\":2000}\n"}));
  EXPECT_EQ(std::find(host.calls.begin(), host.calls.end(), "shutdown_compute_system"), host.calls.end());
  EXPECT_EQ(std::find(host.calls.begin(), host.calls.end(), "terminate_compute_system"), host.calls.end());
  EXPECT_TRUE(std::filesystem::exists(store().workspace_dir() / "rootfs.vhd"));
  EXPECT_EQ(runtime()["exited"], true);
  // ... and starts again from halted, reusing the disks.
  const auto again = send("start");
  EXPECT_EQ(state_of(again), "running") << again.body.dump();
}

TEST_F(LifecycleTest, HaltFallsBackToHcsShutdown) {
  start_ok();
  host.failures = {{"guest_request", Error{ErrorCode::internal, "guest port 1026 gave no reply"}}};
  EXPECT_EQ(state_of(send("halt")), "halted");
  EXPECT_NE(std::find(host.calls.begin(), host.calls.end(), "shutdown_compute_system"), host.calls.end());
  EXPECT_EQ(std::find(host.calls.begin(), host.calls.end(), "terminate_compute_system"), host.calls.end());
  expect_released();
}

TEST_F(LifecycleTest, HaltFallsBackToTerminate) {
  start_ok();
  host.failures = {{"guest_request", Error{ErrorCode::internal, "no reply"}},
                   {"shutdown_compute_system", Error{ErrorCode::internal, "guest did not shut down"}}};
  EXPECT_EQ(state_of(send("halt")), "halted");
  EXPECT_NE(std::find(host.calls.begin(), host.calls.end(), "terminate_compute_system"), host.calls.end());
  expect_released();
}

TEST_F(LifecycleTest, HaltOfPreparedIsAConflict) {
  ASSERT_EQ(send("prepare").exit_code, 0);
  EXPECT_EQ(error_code(send("halt")), "conflict");
}

TEST_F(LifecycleTest, StopAndKill) {
  start_ok();
  auto stopped = send("stop");
  EXPECT_EQ(state_of(stopped), "stopped");
  expect_released();
  start_ok();
  auto killed = send("kill");
  EXPECT_EQ(state_of(killed), "stopped");
  EXPECT_NE(killed.body["event"]["detail"].get<std::string>().find("killed"), std::string::npos);
  expect_released();
  // Stopping a stopped workspace changes nothing.
  EXPECT_EQ(state_of(send("stop")), "stopped");
}

TEST_F(LifecycleTest, QuarantineSeversThenRefusesStartUntilStopped) {
  start_ok();
  const auto response = send("quarantine");
  ASSERT_EQ(response.exit_code, 0) << response.body.dump();
  EXPECT_EQ(state_of(response), "quarantined");
  expect_released();
  // The helper (published ports, mediation) went before the VM was terminated.
  const auto helper = std::find(host.calls.begin(), host.calls.end(), "stop_process 4001");
  const auto vm = std::find(host.calls.begin(), host.calls.end(), "terminate_compute_system");
  EXPECT_LT(helper, vm);
  EXPECT_TRUE(std::filesystem::exists(store().workspace_dir() / "rootfs.vhd")) << "evidence kept";
  EXPECT_EQ(error_code(send("start")), "conflict");
  EXPECT_EQ(state_of(send("stop")), "stopped");
  EXPECT_EQ(state_of(send("start")), "running");
}

TEST_F(LifecycleTest, DeleteRefusesARunningVmThenRemovesEverything) {
  start_ok();
  EXPECT_EQ(error_code(send("delete")), "conflict");
  ASSERT_EQ(send("kill").exit_code, 0);
  const auto response = send("delete");
  ASSERT_EQ(response.exit_code, 0) << response.body.dump();
  EXPECT_FALSE(store().exists());
  EXPECT_FALSE(std::filesystem::exists(store().workspace_dir()));
  EXPECT_TRUE(host.endpoints.empty());
  EXPECT_EQ(error_code(send("inspect")), "not_found");
}

TEST_F(LifecycleTest, DeleteReleasesALeftoverEndpoint) {
  start_ok();
  // A crashed supervisor left runtime.json naming a live endpoint while HCS lost the VM.
  host.systems["microagent-ws1"] = ComputeSystemState::absent;
  host.systems.erase("microagent-ws1");
  ASSERT_EQ(send("delete").exit_code, 0);
  EXPECT_TRUE(host.endpoints.empty());
  EXPECT_TRUE(host.live_processes.empty());
}

TEST_F(LifecycleTest, StartTwiceIsAConflict) {
  start_ok();
  EXPECT_EQ(error_code(send("start")), "conflict");
}

TEST_F(LifecycleTest, StartFailureReleasesEverything) {
  host.failures = {{"spawn_listener_helper", Error{ErrorCode::unsupported, "no listener helper"}}};
  const auto response = send("start");
  EXPECT_EQ(error_code(response), "unsupported");
  expect_released();
  EXPECT_EQ(history_states().back(), "failed");
}

TEST_F(LifecycleTest, ConsoleIsUnsupportedAndPointsAtConnect) {
  start_ok();
  const auto response = send("console");
  EXPECT_EQ(response.exit_code, 1);
  EXPECT_EQ(error_code(response), "unsupported");
  EXPECT_NE(response.body["error"]["message"].get<std::string>().find("connect"), std::string::npos);
}

TEST_F(LifecycleTest, EndpointDeleteFailureIsReportedNotHidden) {
  start_ok();
  host.failures = {{"delete_endpoint", Error{ErrorCode::internal, "HNS is gone"}}};
  const auto response = send("stop");
  EXPECT_EQ(state_of(response), "stopped");
  EXPECT_NE(response.body["event"]["detail"].get<std::string>().find("HNS is gone"), std::string::npos);
}

}  // namespace
}  // namespace microagent::windows_hyperv::testing
