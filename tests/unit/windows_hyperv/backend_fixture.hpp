#pragma once
// A windows-hyperv backend over the fake host, in a per-test temp state dir,
// driven through supervisor::serve_request exactly as the .exe is.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "backends/windows_hyperv/windows_hyperv_backend.hpp"
#include "fake_windows_host.hpp"
#include "protocol/json_codec.hpp"
#include "supervisor/backend.hpp"
#include "supervisor/runtime_store.hpp"

namespace microagent::windows_hyperv::testing {

class BackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/ma-hyperv-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir = pattern;
    state = dir / "state";
    write(dir / "kernel" / "vmlinux", std::string("\x7f" "ELF\x02\x01\x01", 7) + std::string(64, '\0'));
    write(dir / "initrd.img", "initrd");
    write(dir / "rootfs.ext4", std::string(4096, 'r'));
    write(dir / "data.ext4", std::string(2048, 'd'));
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  static void write(const std::filesystem::path& path, const std::string& text) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
  }
  static std::string read(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

  nlohmann::json config(const std::string& network_mode = "user") const {
    return {{"stateDir", state.string()},
            {"kernelPath", (dir / "kernel" / "vmlinux").string()},
            {"initrdPath", (dir / "initrd.img").string()},
            {"rootfsPath", (dir / "rootfs.ext4").string()},
            {"memoryMiB", 256},
            {"cpuCount", 1},
            {"command", {"/bin/sh", "-c", "echo hi"}},
            {"disks", {{{"path", (dir / "data.ext4").string()}, {"mode", "ro"}, {"mount", "/data"}}}},
            {"network", {{"mode", network_mode}}}};
  }

  supervisor::Response send(const std::string& command, const nlohmann::json& cfg, const std::string& id = "ws1",
                            const nlohmann::json& options = nullptr) {
    nlohmann::json request{{"command", command},
                           {"identity", {{"requestID", "req-" + command}, {"runtimeID", id}, {"role", "workload"},
                                         {"backend", "windows-hyperv"}}},
                           {"config", cfg}};
    if (!options.is_null()) request["options"] = options;
    return supervisor::serve_request(backend, request.dump());
  }
  supervisor::Response send(const std::string& command) { return send(command, config()); }

  supervisor::RuntimeStore store(const std::string& id = "ws1") const { return supervisor::RuntimeStore(state, protocol::RuntimeId::parse(id).value()); }
  nlohmann::json runtime(const std::string& id = "ws1") const {
    auto r = store(id).read_runtime();
    return r ? *r : nlohmann::json::object();
  }
  std::vector<std::string> history_states(const std::string& id = "ws1") const {
    std::vector<std::string> states;
    auto history = store(id).history();
    if (!history) return states;
    for (const auto& event : *history) {
      nlohmann::json e = protocol::to_json(event);
      states.push_back(e["state"].get<std::string>());
    }
    return states;
  }

  static std::string error_code(const supervisor::Response& r) {
    return r.body.contains("error") ? r.body["error"]["code"].get<std::string>() : "";
  }
  static std::string state_of(const supervisor::Response& r) {
    return r.body.contains("event") ? r.body["event"]["state"].get<std::string>() : "";
  }

  std::filesystem::path dir, state;
  FakeWindowsHost host;
  WindowsHypervBackend backend{host, BackendPaths{}};
};

}  // namespace microagent::windows_hyperv::testing
