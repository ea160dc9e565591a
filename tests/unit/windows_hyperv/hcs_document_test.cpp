// The compute-system document, field by field, against hcsshim's schema2
// names (ComputeSystem, VirtualMachine, Chipset.LinuxKernelDirect, Topology,
// Scsi/Attachment, HvSocket2, ComPort, NetworkAdapter); plus the pure helpers
// around it: service GUIDs, kernel command line, SCSI device names, ports.
#include "backends/windows_hyperv/hcs_document.hpp"

#include <gtest/gtest.h>

#include "backends/windows_hyperv/hvsocket_service.hpp"
#include "backends/windows_hyperv/kernel_cmdline.hpp"
#include "backends/windows_hyperv/vm_plan.hpp"
#include "backends/windows_hyperv/workspace_disks.hpp"

namespace microagent::windows_hyperv {
namespace {

using nlohmann::json;

ComputeSystemSpec full_spec() {
  ComputeSystemSpec spec;
  spec.kernel_path = R"(C:\ma\kernels\vmlinux)";
  spec.initrd_path = R"(C:\ma\kernels\initrd.img)";
  spec.kernel_cmdline = "console=ttyS0 panic=-1 reboot=t quiet microagent.config=abc";
  spec.memory_mib = 512;
  spec.cpu_count = 2;
  spec.disks = {{R"(C:\ma\workspaces\a1\rootfs.vhd)", false}, {R"(C:\ma\workspaces\a1\disk-0.vhd)", true}};
  spec.vsock_ports = {1024, 1025, 1026, 8080};
  spec.com1_pipe = com1_pipe_name("a1");
  spec.adapter = NetworkAdapter{"7d8a1e4c-0000-0000-0000-000000000001", "00-15-5D-00-00-01"};
  return spec;
}

TEST(HcsDocument, TopLevelFields) {
  const json doc = compute_system_document(full_spec());
  EXPECT_EQ(doc["Owner"], "microagent");
  EXPECT_EQ(doc["SchemaVersion"], (json{{"Major", 2}, {"Minor", 1}}));
  EXPECT_EQ(doc["ShouldTerminateOnLastHandleClosed"], true);
  EXPECT_EQ(doc["VirtualMachine"]["StopOnReset"], true);
  EXPECT_EQ(doc.size(), 4u);
}

TEST(HcsDocument, LinuxKernelDirectBoot) {
  const json chipset = compute_system_document(full_spec())["VirtualMachine"]["Chipset"];
  const json& direct = chipset["LinuxKernelDirect"];
  EXPECT_EQ(direct["KernelFilePath"], R"(C:\ma\kernels\vmlinux)");
  EXPECT_EQ(direct["InitRdPath"], R"(C:\ma\kernels\initrd.img)");
  EXPECT_EQ(direct["KernelCmdLine"], "console=ttyS0 panic=-1 reboot=t quiet microagent.config=abc");
  EXPECT_FALSE(chipset.contains("Uefi"));
}

TEST(HcsDocument, ComputeTopology) {
  const json topology = compute_system_document(full_spec())["VirtualMachine"]["ComputeTopology"];
  EXPECT_EQ(topology["Memory"]["SizeInMB"], 512);
  EXPECT_EQ(topology["Memory"]["AllowOvercommit"], true);
  EXPECT_EQ(topology["Processor"]["Count"], 2);
}

TEST(HcsDocument, ScsiAttachmentsInLunOrder) {
  const json scsi = compute_system_document(full_spec())["VirtualMachine"]["Devices"]["Scsi"];
  ASSERT_TRUE(scsi.contains("0"));
  EXPECT_EQ(scsi.size(), 1u);
  const json& attachments = scsi["0"]["Attachments"];
  ASSERT_EQ(attachments.size(), 2u);
  EXPECT_EQ(attachments["0"],
            (json{{"Type", "VirtualDisk"}, {"Path", R"(C:\ma\workspaces\a1\rootfs.vhd)"}, {"ReadOnly", false}}));
  EXPECT_EQ(attachments["1"],
            (json{{"Type", "VirtualDisk"}, {"Path", R"(C:\ma\workspaces\a1\disk-0.vhd)"}, {"ReadOnly", true}}));
}

TEST(HcsDocument, HvSocketServiceTableGrantsEachPort) {
  const json config = compute_system_document(full_spec())["VirtualMachine"]["Devices"]["HvSocket"]["HvSocketConfig"];
  EXPECT_EQ(config["DefaultBindSecurityDescriptor"], "D:P(A;;FA;;;SY)(A;;FA;;;BA)");
  EXPECT_EQ(config["DefaultConnectSecurityDescriptor"], "D:P(A;;FA;;;SY)(A;;FA;;;BA)");
  const json& table = config["ServiceTable"];
  ASSERT_EQ(table.size(), 4u);
  for (const char* id : {"00000400-FACB-11E6-BD58-64006A7986D3", "00000401-FACB-11E6-BD58-64006A7986D3",
                         "00000402-FACB-11E6-BD58-64006A7986D3", "00001F90-FACB-11E6-BD58-64006A7986D3"}) {
    ASSERT_TRUE(table.contains(id)) << id;
    EXPECT_EQ(table[id]["BindSecurityDescriptor"], "D:P(A;;FA;;;SY)(A;;FA;;;BA)");
    EXPECT_EQ(table[id]["ConnectSecurityDescriptor"], "D:P(A;;FA;;;SY)(A;;FA;;;BA)");
    EXPECT_EQ(table[id]["AllowWildcardBinds"], true);
  }
}

TEST(HcsDocument, Com1IsANamedPipe) {
  const json devices = compute_system_document(full_spec())["VirtualMachine"]["Devices"];
  EXPECT_EQ(devices["ComPorts"], (json{{"0", {{"NamedPipe", R"(\\.\pipe\microagent-a1-com1)"}}}}));
}

TEST(HcsDocument, NetworkAdapterKeyedByEndpoint) {
  const json adapters = compute_system_document(full_spec())["VirtualMachine"]["Devices"]["NetworkAdapters"];
  ASSERT_EQ(adapters.size(), 1u);
  EXPECT_EQ(adapters["7d8a1e4c-0000-0000-0000-000000000001"],
            (json{{"EndpointId", "7d8a1e4c-0000-0000-0000-000000000001"}, {"MacAddress", "00-15-5D-00-00-01"}}));
}

TEST(HcsDocument, IsolatedHasNoAdapterAndNoPipeHasNoComPort) {
  ComputeSystemSpec spec = full_spec();
  spec.adapter.reset();
  spec.com1_pipe.clear();
  spec.terminate_on_last_handle_closed = false;
  const json doc = compute_system_document(spec);
  EXPECT_FALSE(doc["VirtualMachine"]["Devices"].contains("NetworkAdapters"));
  EXPECT_FALSE(doc["VirtualMachine"]["Devices"].contains("ComPorts"));
  EXPECT_EQ(doc["ShouldTerminateOnLastHandleClosed"], false);
}

TEST(HvSocketService, PortToGuidAndBack) {
  EXPECT_EQ(vsock_service_id(1024), "00000400-FACB-11E6-BD58-64006A7986D3");
  EXPECT_EQ(vsock_service_id(0), "00000000-FACB-11E6-BD58-64006A7986D3");
  EXPECT_EQ(vsock_service_id(0xFFFFFFFFu), "FFFFFFFF-FACB-11E6-BD58-64006A7986D3");
  EXPECT_EQ(vsock_port_of_service("00000401-facb-11e6-bd58-64006a7986d3"), 1025u);
  EXPECT_EQ(vsock_port_of_service("00001F90-FACB-11E6-BD58-64006A7986D3"), 8080u);
}

TEST(HvSocketService, RejectsOtherGuids) {
  for (const char* bad : {"", "00000400", "{00000400-FACB-11E6-BD58-64006A7986D3}", "0000040G-FACB-11E6-BD58-64006A7986D3",
                          "00000400-FACB-11E6-BD58-64006A7986D4", "a42e7cda-d03f-480c-9cc2-a4de20abb878"}) {
    EXPECT_FALSE(vsock_port_of_service(bad)) << bad;
  }
}

TEST(KernelCmdline, HyperVConsoleAndConfig) {
  EXPECT_EQ(hyperv_kernel_cmdline(""), "console=ttyS0 panic=-1 reboot=t quiet");
  EXPECT_EQ(hyperv_kernel_cmdline("microagent.config=xyz"), "console=ttyS0 panic=-1 reboot=t quiet microagent.config=xyz");
  EXPECT_EQ(hyperv_kernel_cmdline("x").find("tsc_early_khz"), std::string::npos);
  EXPECT_EQ(hyperv_kernel_cmdline("x").find("pci=off"), std::string::npos);
}

TEST(ScsiDeviceName, LunToGuestDevice) {
  EXPECT_EQ(scsi_device_name(0), "/dev/sda");
  EXPECT_EQ(scsi_device_name(1), "/dev/sdb");
  EXPECT_EQ(scsi_device_name(25), "/dev/sdz");
  EXPECT_EQ(scsi_device_name(26), "/dev/sdaa");
}

TEST(VmPlan, GrantedPortsAreSortedAndUnique) {
  protocol::WorkspaceConfig config;
  config.network.port_forwards = {{"127.0.0.1", 8080, 80, "tcp"}, {"127.0.0.1", 8081, 1025, "tcp"}};
  config.mediation = protocol::MediationSpec{2048, "127.0.0.1:9900", true};
  EXPECT_EQ(granted_vsock_ports(config), (std::vector<std::uint32_t>{80, 1024, 1025, 1026, 2048}));
}

TEST(VmPlan, SpecFromConfigDisksAndNetwork) {
  protocol::WorkspaceConfig config;
  config.kernel_path = "/k/vmlinux";
  config.initrd_path = "/k/initrd";
  config.memory_mib = 384;
  config.cpu_count = 3;
  config.command = {"/bin/sh", "-c", "echo hi"};
  WorkspaceDisks disks;
  disks.scsi = {{"/ws/rootfs.vhd", false}, {"/ws/disk-0.vhd", true}};
  disks.root_device = "/dev/sda";
  disks.guest_disks = {{"/dev/sdb", "/data", true}};
  NetworkAttachment net{"net-1", "microagent-nat", "ep-1", "00-15-5D-00-00-09", "192.168.127.5"};
  auto plan = plan_vm(config, "a1", disks, net, false);
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->compute_system_id, "microagent-a1");
  EXPECT_EQ(plan->spec.memory_mib, 384);
  EXPECT_EQ(plan->spec.cpu_count, 3);
  EXPECT_TRUE(plan->spec.terminate_on_last_handle_closed);
  EXPECT_EQ(plan->spec.disks.size(), 2u);
  EXPECT_EQ(plan->spec.adapter->endpoint_id, "ep-1");
  EXPECT_EQ(plan->spec.com1_pipe, R"(\\.\pipe\microagent-a1-com1)");
  EXPECT_EQ(plan->guest.root_device, "/dev/sda");
  ASSERT_EQ(plan->guest.disks.size(), 1u);
  EXPECT_EQ(plan->guest.disks[0].device, "/dev/sdb");
  EXPECT_TRUE(plan->guest.disks[0].read_only);
  EXPECT_FALSE(plan->guest.keep_alive);
  // The guest reads its config from the command line: it must decode back.
  auto decoded = decode_config_from_cmdline(plan->spec.kernel_cmdline);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(decoded->argv, config.command);
  EXPECT_EQ(decoded->root_device, "/dev/sda");
}

TEST(VmPlan, DetachedKeepsAliveAndSurvivesTheHandle) {
  protocol::WorkspaceConfig config;
  config.kernel_path = "/k/vmlinux";
  config.initrd_path = "/k/initrd";
  auto plan = plan_vm(config, "a1", {}, std::nullopt, true);
  ASSERT_TRUE(plan);
  EXPECT_FALSE(plan->spec.terminate_on_last_handle_closed);
  EXPECT_TRUE(plan->guest.keep_alive);
  EXPECT_FALSE(plan->spec.adapter);
}

TEST(VmPlan, FailsClosed) {
  protocol::WorkspaceConfig config;
  EXPECT_EQ(plan_vm(config, "a1", {}, std::nullopt, false).error().code, ErrorCode::invalid_request);
  config.kernel_path = "/k/vmlinux";
  config.initrd_path = "/k/initrd";
}

// Too large for the command line: planned for the per-runtime initramfs instead.
TEST(VmPlan, ALargeConfigGoesToTheInitramfs) {
  protocol::WorkspaceConfig config;
  config.kernel_path = "/k/vmlinux";
  config.initrd_path = "/k/initrd";
  config.command = {"/bin/sh", "-c", "true"};
  auto small = plan_vm(config, "a1", {}, std::nullopt, false);
  ASSERT_TRUE(small);
  EXPECT_FALSE(small->config_in_initramfs);
  EXPECT_NE(small->spec.kernel_cmdline.find("microagent.config="), std::string::npos);
  config.command = {"/bin/sh", "-c", std::string(8000, 'x')};
  auto large = plan_vm(config, "a1", {}, std::nullopt, false);
  ASSERT_TRUE(large);
  EXPECT_TRUE(large->config_in_initramfs);
  EXPECT_EQ(large->spec.kernel_cmdline, "console=ttyS0 panic=-1 reboot=t quiet");
  EXPECT_EQ(large->guest.argv, config.command);
}

}  // namespace
}  // namespace microagent::windows_hyperv
