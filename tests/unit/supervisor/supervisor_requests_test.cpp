// Drives the real supervisor executable with raw JSON: every bad request gets
// ok:false with the right stable code, a non-zero exit, and leaves the state
// directory exactly as it was. No guest boots here.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/process.hpp"

namespace microagent {
namespace {

using nlohmann::json;

const std::string kSupervisor = std::string(MICROAGENT_BIN_DIR) + "/microagent-linux-kvm-supervisor";

struct Reply {
  json body;
  int exit_code = -1;
};

Reply call(const std::string& raw) {
  auto out = run_command({kSupervisor}, raw);
  Reply reply;
  if (!out) return reply;
  reply.exit_code = out->status.exit_code.value_or(-1);
  reply.body = json::parse(out->out, nullptr, false);
  return reply;
}

// Every file under `root` with its bytes (large disk images: size and mtime):
// the state dir as a comparable value.
std::map<std::string, std::string> snapshot(const std::filesystem::path& root) {
  std::map<std::string, std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    std::string contents;
    if (entry.is_regular_file() && entry.file_size() > (1u << 20)) {
      contents = std::to_string(entry.file_size()) + "@" +
                 std::to_string(entry.last_write_time().time_since_epoch().count());
    } else if (entry.is_regular_file()) {
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      contents = ss.str();
    }
    files[std::filesystem::relative(entry.path(), root).string()] = contents;
  }
  return files;
}

class SupervisorRequests : public ::testing::Test {
 public:
  void SetUp() override {
    std::string pattern = "/tmp/ma-sup-XXXXXX";
    root = ::mkdtemp(pattern.data());
    state = root / "state";
    std::filesystem::create_directories(state);
    std::ofstream(root / "vmlinux") << "not really a kernel";
    std::ofstream(root / "initrd") << "not really an initrd";
    // Fixtures: a prepared workspace and a quarantined one (no VM needed for either).
    ASSERT_EQ(call(request("prepare", "prepared-ws").dump()).exit_code, 0);
    ASSERT_EQ(call(request("prepare", "quarantined-ws").dump()).exit_code, 0);
    ASSERT_EQ(call(request("quarantine", "quarantined-ws").dump()).exit_code, 0);
  }
  void TearDown() override { std::filesystem::remove_all(root); }

  json request(const std::string& command, const std::string& name) const {
    return {{"command", command},
            {"identity", {{"requestID", "r1"}, {"runtimeID", name}, {"role", "workload"}, {"backend", "linux-kvm"}}},
            {"config",
             {{"stateDir", state.string()},
              {"kernelPath", (root / "vmlinux").string()},
              {"initrdPath", (root / "initrd").string()},
              {"memoryMiB", 256},
              {"cpuCount", 1},
              {"command", json::array({"true"})},
              {"result", {{"port", 1024}}}}}};
  }

  std::filesystem::path root, state;
};

struct BadCase {
  std::string name;
  std::function<std::string(const SupervisorRequests&)> build;
  std::string code;
};

std::string with(const SupervisorRequests& t, const std::string& command, const std::string& ws,
                 const std::function<void(json&)>& mutate) {
  json r = t.request(command, ws);
  mutate(r);
  return r.dump();
}

std::vector<BadCase> bad_cases() {
  auto mutate = [](std::string command, std::string ws, std::function<void(json&)> m) {
    return [=](const SupervisorRequests& t) { return with(t, command, ws, m); };
  };
  auto raw = [](std::string text) { return [=](const SupervisorRequests&) { return text; }; };
  auto none = [](json&) {};
  return {
      {"empty_input", raw(""), "invalid_request"},
      {"malformed_json", raw("{\"command\":"), "invalid_request"},
      {"not_an_object", raw("[1,2]"), "invalid_request"},
      {"json_string", raw("\"start\""), "invalid_request"},
      {"unknown_command", mutate("explode", "a", none), "unsupported"},
      {"command_number", mutate("start", "a", [](json& r) { r["command"] = 3; }), "invalid_request"},
      {"missing_command", mutate("start", "a", [](json& r) { r.erase("command"); }), "invalid_request"},
      {"missing_identity", mutate("start", "a", [](json& r) { r.erase("identity"); }), "invalid_request"},
      {"identity_string", mutate("start", "a", [](json& r) { r["identity"] = "a"; }), "invalid_request"},
      {"missing_runtime_id", mutate("start", "a", [](json& r) { r["identity"].erase("runtimeID"); }), "invalid_request"},
      {"runtime_id_slash", mutate("start", "a/b", none), "invalid_request"},
      {"runtime_id_dotdot", mutate("start", "..", none), "invalid_request"},
      {"runtime_id_escape", mutate("start", "../../etc", none), "invalid_request"},
      {"runtime_id_200", mutate("start", std::string(200, 'a'), none), "invalid_request"},
      {"runtime_id_nul", mutate("start", std::string("a\0b", 3), none), "invalid_request"},
      {"runtime_id_upper", mutate("start", "ABC", none), "invalid_request"},
      {"runtime_id_dot_first", mutate("start", ".hidden", none), "invalid_request"},
      {"runtime_id_number", mutate("start", "a", [](json& r) { r["identity"]["runtimeID"] = 7; }), "invalid_request"},
      {"wrong_backend", mutate("start", "a", [](json& r) { r["identity"]["backend"] = "windows-hyperv"; }), "invalid_request"},
      {"missing_config", mutate("start", "a", [](json& r) { r.erase("config"); }), "invalid_request"},
      {"config_string", mutate("start", "a", [](json& r) { r["config"] = "x"; }), "invalid_request"},
      {"missing_state_dir", mutate("start", "a", [](json& r) { r["config"].erase("stateDir"); }), "invalid_request"},
      {"relative_state_dir", mutate("start", "a", [](json& r) { r["config"]["stateDir"] = "state"; }), "invalid_request"},
      {"negative_memory", mutate("start", "a", [](json& r) { r["config"]["memoryMiB"] = -512; }), "invalid_request"},
      {"memory_string", mutate("start", "a", [](json& r) { r["config"]["memoryMiB"] = "512"; }), "invalid_request"},
      {"zero_cpus", mutate("start", "a", [](json& r) { r["config"]["cpuCount"] = 0; }), "invalid_request"},
      {"cpus_float", mutate("start", "a", [](json& r) { r["config"]["cpuCount"] = 1.5; }), "invalid_request"},
      {"command_string", mutate("start", "a", [](json& r) { r["config"]["command"] = "true"; }), "invalid_request"},
      {"command_numbers", mutate("start", "a", [](json& r) { r["config"]["command"] = json::array({1, 2}); }), "invalid_request"},
      {"env_list", mutate("start", "a", [](json& r) { r["config"]["env"] = json::array({"A=b"}); }), "invalid_request"},
      {"env_bad_key", mutate("start", "a", [](json& r) { r["config"]["env"]["A=B"] = "c"; }), "invalid_request"},
      {"relative_workdir", mutate("start", "a", [](json& r) { r["config"]["workdir"] = "tmp"; }), "invalid_request"},
      {"bad_network_mode", mutate("start", "a", [](json& r) { r["config"]["network"] = {{"mode", "host"}}; }), "invalid_request"},
      {"bad_disk_mode", mutate("start", "a", [](json& r) { r["config"]["disks"] = json::array({{{"path", "/d"}, {"mode", "x"}, {"mount", "/m"}}}); }), "invalid_request"},
      {"bad_port", mutate("start", "a", [](json& r) { r["config"]["network"] = {{"mode", "user"}, {"portForwards", json::array({{{"hostPort", 0}, {"guestPort", 80}}})}}; }), "invalid_request"},
      {"result_port_string", mutate("start", "a", [](json& r) { r["config"]["result"]["port"] = "1024"; }), "invalid_request"},
      {"missing_kernel_file", mutate("start", "a", [](json& r) { r["config"]["kernelPath"] = "/no/such/vmlinux"; }), "not_found"},
      {"missing_kernel_path", mutate("start", "a", [](json& r) { r["config"].erase("kernelPath"); }), "invalid_request"},
      {"bridged_missing_bridge", mutate("start", "a", [](json& r) { r["config"]["network"] = {{"mode", "bridged"}, {"interface", "nosuchbr0"}}; }), "not_found"},
      {"isolated_publish", mutate("start", "a", [](json& r) { r["config"]["network"] = {{"mode", "isolated"}, {"portForwards", json::array({{{"hostPort", 8080}, {"guestPort", 80}}})}}; }), "invalid_request"},
      {"run_without_command", mutate("run", "a", [](json& r) { r["config"]["command"] = json::array(); }), "invalid_request"},
      {"inspect_unknown", mutate("inspect", "nobody", none), "not_found"},
      {"halt_unknown", mutate("halt", "nobody", none), "not_found"},
      {"stop_unknown", mutate("stop", "nobody", none), "not_found"},
      {"kill_unknown", mutate("kill", "nobody", none), "not_found"},
      {"delete_unknown", mutate("delete", "nobody", none), "not_found"},
      {"quarantine_unknown", mutate("quarantine", "nobody", none), "not_found"},
      {"console_unknown", mutate("console", "nobody", [](json& r) { r["input"] = "x"; }), "not_found"},
      {"console_not_running", mutate("console", "prepared-ws", [](json& r) { r["input"] = "x"; }), "conflict"},
      {"halt_not_running", mutate("halt", "prepared-ws", none), "conflict"},
      {"start_quarantined", mutate("start", "quarantined-ws", none), "conflict"},
      {"prepare_quarantined", mutate("prepare", "quarantined-ws", none), "conflict"},
      {"inspect_relative_state", mutate("inspect", "prepared-ws", [](json& r) { r["config"]["stateDir"] = "rel"; }), "invalid_request"},
  };
}

TEST_F(SupervisorRequests, EveryBadRequestFailsClosedAndChangesNothing) {
  const auto cases = bad_cases();
  ASSERT_GE(cases.size(), 40u);
  for (const auto& c : cases) {
    const auto before = snapshot(root);
    const Reply reply = call(c.build(*this));
    EXPECT_NE(reply.exit_code, 0) << c.name;
    ASSERT_TRUE(reply.body.is_object()) << c.name;
    EXPECT_EQ(reply.body["ok"], false) << c.name;
    EXPECT_EQ(reply.body["error"]["code"], c.code) << c.name << ": " << reply.body.dump();
    EXPECT_FALSE(reply.body["error"]["message"].get<std::string>().empty()) << c.name;
    EXPECT_EQ(snapshot(root), before) << c.name << " changed the state directory";
  }
}

TEST_F(SupervisorRequests, HostAnswersWithoutIdentity) {
  const Reply reply = call(R"({"command":"host"})");
  EXPECT_EQ(reply.exit_code, 0);
  EXPECT_EQ(reply.body["ok"], true);
  EXPECT_EQ(reply.body["backend"], "linux-kvm");
  EXPECT_TRUE(reply.body["host"]["accel"] == "tcg" || reply.body["host"]["accel"] == "kvm");
}

TEST_F(SupervisorRequests, TransitionsWithoutAGuest) {
  // prepared -> quarantined -> stopped -> halted -> deleted; every event lands in order.
  EXPECT_EQ(call(request("inspect", "prepared-ws").dump()).body["event"]["state"], "prepared");
  EXPECT_EQ(call(request("quarantine", "prepared-ws").dump()).body["event"]["state"], "quarantined");
  EXPECT_EQ(call(request("stop", "prepared-ws").dump()).body["event"]["state"], "stopped");
  EXPECT_EQ(call(request("halt", "prepared-ws").dump()).body["event"]["state"], "halted");
  std::ifstream history(state / "prepared-ws" / "events.json");
  std::vector<std::string> states;
  for (std::string line; std::getline(history, line);) states.push_back(json::parse(line)["state"]);
  EXPECT_EQ(states, (std::vector<std::string>{"prepared", "quarantined", "stopped", "halted"}));
  const Reply deleted = call(request("delete", "prepared-ws").dump());
  EXPECT_EQ(deleted.exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(state / "prepared-ws"));
  EXPECT_FALSE(std::filesystem::exists(state / "workspaces" / "prepared-ws"));
  EXPECT_EQ(call(request("inspect", "prepared-ws").dump()).body["error"]["code"], "not_found");
}

}  // namespace
}  // namespace microagent
