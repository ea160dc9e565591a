// A request that asks more than the host has, or names something that is not
// a kernel, is refused with invalid_request before any compute system,
// endpoint or workspace file exists: for `run` and `start` alike.
#include "backend_fixture.hpp"

namespace microagent::windows_hyperv::testing {
namespace {

class HostFitTest : public BackendTest {
 protected:
  void expect_refused_before_anything(const std::string& command, const nlohmann::json& cfg, const std::string& says) {
    const auto response = send(command, cfg);
    EXPECT_NE(response.exit_code, 0) << response.body.dump();
    EXPECT_EQ(response.body["ok"], false);
    EXPECT_EQ(response.body["error"]["code"], "invalid_request") << response.body.dump();
    EXPECT_NE(response.body["error"]["message"].get<std::string>().find(says), std::string::npos) << response.body.dump();
    EXPECT_TRUE(host.systems.empty()) << command << " made a compute system";
    EXPECT_TRUE(host.endpoints.empty()) << command << " made an endpoint";
    EXPECT_FALSE(std::filesystem::exists(store().workspace_dir())) << command << " wrote the workspace";
  }
};

TEST_F(HostFitTest, MoreMemoryOrProcessorsThanTheHostHasAreRefused) {
  host.host_capacity = {4096, 4};
  for (const char* command : {"run", "start"}) {
    auto cfg = config();
    cfg["memoryMiB"] = 4097;
    expect_refused_before_anything(command, cfg, "config.memoryMiB 4097 is more than this host has (4096 MiB)");
    cfg = config();
    cfg["cpuCount"] = 5;
    expect_refused_before_anything(command, cfg, "config.cpuCount 5 is more than this host's 4 online CPUs");
  }
  auto cfg = config();
  cfg["memoryMiB"] = 4096;
  cfg["cpuCount"] = 4;
  EXPECT_EQ(send("run", cfg).exit_code, 0) << "exactly the host's figures fit";
}

TEST_F(HostFitTest, AKernelThatIsNotOneIsRefused) {
  write(dir / "passwd", "root:x:0:0:root:/root:/bin/sh\n");
  for (const char* command : {"run", "start"}) {
    auto cfg = config();
    cfg["kernelPath"] = (dir / "passwd").string();
    expect_refused_before_anything(command, cfg, "is not a Linux kernel");
  }
  auto cfg = config();
  cfg["kernelPath"] = (dir / "missing").string();
  const auto response = send("run", cfg);
  EXPECT_EQ(response.body["error"]["code"], "not_found") << response.body.dump();
  EXPECT_TRUE(host.systems.empty());
}

}  // namespace
}  // namespace microagent::windows_hyperv::testing
