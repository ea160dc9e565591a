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
    // Looks like an ELF vmlinux to the host checks; no case below may get as far as booting it.
    std::ofstream(root / "vmlinux") << std::string("\x7f" "ELF\x02\x01\x01", 7) << std::string(64, '\0');
    std::ofstream(root / "not-a-kernel") << "not really a kernel";
    // A canary beside the state dir: no request may touch anything outside it.
    std::filesystem::create_directories(root / "canary" / "victim");
    std::ofstream(root / "canary" / "victim" / "keep") << "keep";
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
  // A number nlohmann would read as a float or refuse: spliced in as text.
  auto raw_config = [](std::string key, std::string number) {
    return [=](const SupervisorRequests& t) {
      json r = t.request("start", "a");
      r["config"][key] = "@@";
      std::string text = r.dump();
      text.replace(text.find("\"@@\""), 4, number);
      return text;
    };
  };
  auto mutate_root = [](std::string command, std::function<void(json&, const std::filesystem::path&)> m) {
    return [=](const SupervisorRequests& t) {
      json r = t.request(command, "a");
      m(r, t.root);
      return r.dump();
    };
  };
  auto with_forward = [](json forward) {
    return [=](const SupervisorRequests& t) {
      json r = t.request("start", "a");
      r["config"]["network"] = {{"mode", "user"}, {"portForwards", json::array({forward})}};
      return r.dump();
    };
  };
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
      // Size and depth, bounded before parsing (issue 13, item 5).
      {"depth_100000", raw(std::string(100000, '[')), "invalid_request"},
      {"depth_objects_65", raw([] { std::string t; for (int i = 0; i < 65; ++i) t += "{\"a\":"; return t + "1" + std::string(65, '}'); }()), "invalid_request"},
      {"depth_inside_config", mutate("start", "a", [](json& r) { json v = 1; for (int i = 0; i < 80; ++i) v = json::array({v}); r["config"]["extra"] = v; }), "invalid_request"},
      {"size_2mib_argument", mutate("start", "a", [](json& r) { r["config"]["command"] = json::array({std::string(2 << 20, 'a')}); }), "invalid_request"},
      {"size_2mib_padding", raw("{\"command\":\"host\"}" + std::string(2 << 20, ' ')), "invalid_request"},
      // JSON shape.
      {"trailing_garbage", raw("{\"command\":\"host\"} x"), "invalid_request"},
      {"json_null", raw("null"), "invalid_request"},
      {"json_number", raw("42"), "invalid_request"},
      {"json_nan", raw("NaN"), "invalid_request"},
      {"empty_object", raw("{}"), "invalid_request"},
      {"whitespace_only", raw("   \n"), "invalid_request"},
      {"invalid_utf8", raw("{\"command\":\"\xff\xfe\"}"), "invalid_request"},
      {"command_upper", mutate("START", "a", none), "unsupported"},
      {"command_empty", mutate("", "a", none), "unsupported"},
      {"identity_array", mutate("start", "a", [](json& r) { r["identity"] = json::array(); }), "invalid_request"},
      {"request_id_number", mutate("start", "a", [](json& r) { r["identity"]["requestID"] = 1; }), "invalid_request"},
      {"role_number", mutate("start", "a", [](json& r) { r["identity"]["role"] = 1; }), "invalid_request"},
      {"backend_number", mutate("start", "a", [](json& r) { r["identity"]["backend"] = 1; }), "invalid_request"},
      // Names (every one could name a path).
      {"runtime_id_newline", mutate("start", "a\nb", none), "invalid_request"},
      {"runtime_id_space", mutate("start", "a b", none), "invalid_request"},
      {"runtime_id_unicode", mutate("start", "\xc3\xa4", none), "invalid_request"},
      {"runtime_id_dash_first", mutate("start", "-a", none), "invalid_request"},
      {"runtime_id_64", mutate("start", std::string(64, 'a'), none), "invalid_request"},
      {"runtime_id_300", mutate("start", std::string(300, 'a'), none), "invalid_request"},
      {"runtime_id_trailing_slash", mutate("start", "a/", none), "invalid_request"},
      {"runtime_id_absolute", mutate("start", "/etc", none), "invalid_request"},
      {"runtime_id_empty", mutate("start", "", none), "invalid_request"},
      {"inspect_escape", mutate("inspect", "../canary/victim", none), "invalid_request"},
      {"delete_escape", mutate("delete", "../canary/victim", none), "invalid_request"},
      {"delete_etc", mutate("delete", "../../../../etc", none), "invalid_request"},
      {"halt_escape", mutate("halt", "../x", none), "invalid_request"},
      {"stop_escape", mutate("stop", "../x", none), "invalid_request"},
      {"kill_escape", mutate("kill", "../x", none), "invalid_request"},
      {"quarantine_escape", mutate("quarantine", "../x", none), "invalid_request"},
      {"console_escape", mutate("console", "../x", [](json& r) { r["input"] = "x"; }), "invalid_request"},
      // Numbers and limits (item 6): against the protocol's bounds, then the host's.
      {"memory_63", mutate("start", "a", [](json& r) { r["config"]["memoryMiB"] = 63; }), "invalid_request"},
      {"memory_above_protocol", mutate("start", "a", [](json& r) { r["config"]["memoryMiB"] = 1LL << 40; }), "invalid_request"},
      {"memory_1tib_on_this_host", mutate("start", "a", [](json& r) { r["config"]["memoryMiB"] = 1048576; }), "invalid_request"},
      {"prepare_memory_1tib", mutate("prepare", "a", [](json& r) { r["config"]["memoryMiB"] = 1048576; }), "invalid_request"},
      {"run_memory_1tib", mutate("run", "a", [](json& r) { r["config"]["memoryMiB"] = 1048576; }), "invalid_request"},
      {"memory_bool", mutate("start", "a", [](json& r) { r["config"]["memoryMiB"] = true; }), "invalid_request"},
      {"memory_overflow", raw_config("memoryMiB", "18446744073709551616"), "invalid_request"},
      {"memory_1e400", raw_config("memoryMiB", "1e400"), "invalid_request"},
      {"memory_very_negative", mutate("start", "a", [](json& r) { r["config"]["memoryMiB"] = -(1LL << 62); }), "invalid_request"},
      {"cpus_256_on_this_host", mutate("start", "a", [](json& r) { r["config"]["cpuCount"] = 256; }), "invalid_request"},
      {"run_cpus_256", mutate("run", "a", [](json& r) { r["config"]["cpuCount"] = 256; }), "invalid_request"},
      {"cpus_257", mutate("start", "a", [](json& r) { r["config"]["cpuCount"] = 257; }), "invalid_request"},
      {"cpus_negative", mutate("start", "a", [](json& r) { r["config"]["cpuCount"] = -1; }), "invalid_request"},
      {"cpus_string", mutate("start", "a", [](json& r) { r["config"]["cpuCount"] = "2"; }), "invalid_request"},
      {"output_limit_huge", mutate("start", "a", [](json& r) { r["config"]["outputLimit"] = 1ULL << 40; }), "invalid_request"},
      {"output_limit_string", mutate("start", "a", [](json& r) { r["config"]["outputLimit"] = "1"; }), "invalid_request"},
      {"timeout_huge", mutate("start", "a", [](json& r) { r["config"]["timeoutSeconds"] = 1LL << 62; }), "invalid_request"},
      {"timeout_string", mutate("start", "a", [](json& r) { r["config"]["timeoutSeconds"] = "5"; }), "invalid_request"},
      {"timeout_float", mutate("start", "a", [](json& r) { r["config"]["timeoutSeconds"] = 0.5; }), "invalid_request"},
      {"result_port_negative", mutate("start", "a", [](json& r) { r["config"]["result"]["port"] = -1; }), "invalid_request"},
      {"result_not_object", mutate("start", "a", [](json& r) { r["config"]["result"] = 1024; }), "invalid_request"},
      // Paths.
      {"kernel_etc_passwd", mutate("start", "a", [](json& r) { r["config"]["kernelPath"] = "/etc/passwd"; }), "invalid_request"},
      {"run_kernel_etc_passwd", mutate("run", "a", [](json& r) { r["config"]["kernelPath"] = "/etc/passwd"; }), "invalid_request"},
      {"kernel_text_file", mutate_root("start", [](json& r, const std::filesystem::path& root) { r["config"]["kernelPath"] = (root / "not-a-kernel").string(); }), "invalid_request"},
      {"kernel_directory", mutate("start", "a", [](json& r) { r["config"]["kernelPath"] = "/etc"; }), "not_found"},
      {"kernel_dev_zero", mutate("start", "a", [](json& r) { r["config"]["kernelPath"] = "/dev/zero"; }), "not_found"},
      {"kernel_number", mutate("start", "a", [](json& r) { r["config"]["kernelPath"] = 1; }), "invalid_request"},
      {"initrd_missing", mutate("start", "a", [](json& r) { r["config"]["initrdPath"] = "/no/such/initrd"; }), "not_found"},
      {"initrd_directory", mutate("start", "a", [](json& r) { r["config"]["initrdPath"] = "/etc"; }), "not_found"},
      {"rootfs_missing", mutate("start", "a", [](json& r) { r["config"]["rootfsPath"] = "/no/such/root.img"; }), "not_found"},
      {"state_dir_nul", mutate("start", "a", [](json& r) { r["config"]["stateDir"] = std::string("/tmp/a\0b", 8); }), "invalid_request"},
      {"state_dir_empty", mutate("start", "a", [](json& r) { r["config"]["stateDir"] = ""; }), "invalid_request"},
      {"state_dir_number", mutate("start", "a", [](json& r) { r["config"]["stateDir"] = 7; }), "invalid_request"},
      {"workdir_nul", mutate("start", "a", [](json& r) { r["config"]["workdir"] = std::string("/a\0", 3); }), "invalid_request"},
      {"user_space", mutate("start", "a", [](json& r) { r["config"]["user"] = "root x"; }), "invalid_request"},
      {"user_newline", mutate("start", "a", [](json& r) { r["config"]["user"] = "root\n"; }), "invalid_request"},
      {"env_key_empty", mutate("start", "a", [](json& r) { r["config"]["env"][""] = "x"; }), "invalid_request"},
      {"env_value_nul", mutate("start", "a", [](json& r) { r["config"]["env"]["A"] = std::string("a\0", 2); }), "invalid_request"},
      {"image_bad_digest", mutate("start", "a", [](json& r) { r["config"]["image"] = {{"reference", "x"}, {"digest", "md5:00"}}; }), "invalid_request"},
      {"image_not_object", mutate("start", "a", [](json& r) { r["config"]["image"] = "alpine"; }), "invalid_request"},
      {"command_object", mutate("start", "a", [](json& r) { r["config"]["command"] = json::object(); }), "invalid_request"},
      {"command_null_item", mutate("start", "a", [](json& r) { r["config"]["command"] = json::array({nullptr}); }), "invalid_request"},
      // Disks (item 7: a comma must not smuggle a QEMU option in).
      {"disks_not_array", mutate("start", "a", [](json& r) { r["config"]["disks"] = "x"; }), "invalid_request"},
      {"disk_no_path", mutate("start", "a", [](json& r) { r["config"]["disks"] = json::array({{{"mode", "ro"}, {"mount", "/m"}}}); }), "invalid_request"},
      {"disk_missing_file", mutate("start", "a", [](json& r) { r["config"]["disks"] = json::array({{{"path", "/no/such.img"}, {"mode", "ro"}, {"mount", "/m"}}}); }), "not_found"},
      {"disk_comma_option", mutate_root("start", [](json& r, const std::filesystem::path& root) { r["config"]["disks"] = json::array({{{"path", (root / "vmlinux").string() + ",snapshot=on"}, {"mode", "ro"}, {"mount", "/m"}}}); }), "not_found"},
      {"disk_directory", mutate("start", "a", [](json& r) { r["config"]["disks"] = json::array({{{"path", "/etc"}, {"mode", "ro"}, {"mount", "/m"}}}); }), "not_found"},
      {"disk_relative_mount", mutate("start", "a", [](json& r) { r["config"]["disks"] = json::array({{{"path", "/d"}, {"mode", "ro"}, {"mount", "m"}}}); }), "invalid_request"},
      {"disks_17", mutate("start", "a", [](json& r) { for (int i = 0; i < 17; ++i) r["config"]["disks"].push_back({{"path", "/d"}, {"mode", "ro"}, {"mount", "/m" + std::to_string(i)}}); }), "invalid_request"},
      // Publish (item 8: beyond loopback only when asked).
      {"publish_any_address", with_forward({{"host", "0.0.0.0"}, {"hostPort", 2222}, {"guestPort", 22}}), "invalid_request"},
      {"publish_any_address_port_22", with_forward({{"host", "0.0.0.0"}, {"hostPort", 22}, {"guestPort", 22}}), "invalid_request"},
      {"publish_lan_address", with_forward({{"host", "10.1.2.3"}, {"hostPort", 2222}, {"guestPort", 22}}), "invalid_request"},
      {"publish_host_name", with_forward({{"host", "localhost"}, {"hostPort", 2222}, {"guestPort", 22}}), "invalid_request"},
      {"publish_ipv6", with_forward({{"host", "::1"}, {"hostPort", 2222}, {"guestPort", 22}}), "invalid_request"},
      {"publish_host_comma", with_forward({{"host", "127.0.0.1,x=y"}, {"hostPort", 2222}, {"guestPort", 22}}), "invalid_request"},
      {"publish_host_octet_256", with_forward({{"host", "127.0.0.256"}, {"hostPort", 2222}, {"guestPort", 22}}), "invalid_request"},
      {"publish_exposed_string", with_forward({{"host", "0.0.0.0"}, {"hostPort", 2222}, {"guestPort", 22}, {"exposed", "true"}}), "invalid_request"},
      {"publish_reserved_port", with_forward({{"hostPort", 1024}, {"guestPort", 22}}), "invalid_request"},
      {"publish_guest_port_zero", with_forward({{"hostPort", 2222}, {"guestPort", 0}}), "invalid_request"},
      {"publish_port_string", with_forward({{"hostPort", "2222"}, {"guestPort", 22}}), "invalid_request"},
      {"publish_entry_string", mutate("start", "a", [](json& r) { r["config"]["network"] = {{"mode", "user"}, {"portForwards", json::array({"2222:22"})}}; }), "invalid_request"},
      {"publish_not_array", mutate("start", "a", [](json& r) { r["config"]["network"] = {{"mode", "user"}, {"portForwards", "2222:22"}}; }), "invalid_request"},
      {"publish_65_entries", mutate("start", "a", [](json& r) { json f = json::array(); for (int i = 0; i < 65; ++i) f.push_back({{"hostPort", 3000 + i}, {"guestPort", 80}}); r["config"]["network"] = {{"mode", "user"}, {"portForwards", f}}; }), "invalid_request"},
      {"publish_duplicate", mutate("start", "a", [](json& r) { r["config"]["network"] = {{"mode", "user"}, {"portForwards", json::array({{{"hostPort", 2222}, {"guestPort", 22}}, {{"hostPort", 2222}, {"guestPort", 23}}})}}; }), "invalid_request"},
      {"network_mode_number", mutate("start", "a", [](json& r) { r["config"]["network"] = {{"mode", 1}}; }), "invalid_request"},
      {"bridged_without_bridge", mutate("start", "a", [](json& r) { r["config"]["network"] = {{"mode", "bridged"}}; }), "invalid_request"},
      {"mediation_port_zero", mutate("start", "a", [](json& r) { r["config"]["mediation"] = {{"port", 0}, {"target", "127.0.0.1:9"}}; }), "invalid_request"},
      {"mediation_port_reserved", mutate("start", "a", [](json& r) { r["config"]["mediation"] = {{"port", 1025}, {"target", "127.0.0.1:9"}}; }), "invalid_request"},
      {"mediation_no_colon", mutate("start", "a", [](json& r) { r["config"]["mediation"] = {{"port", 2048}, {"target", "nowhere"}}; }), "invalid_request"},
      {"mediation_not_object", mutate("start", "a", [](json& r) { r["config"]["mediation"] = 2048; }), "invalid_request"},
  };
}

TEST_F(SupervisorRequests, EveryBadRequestFailsClosedAndChangesNothing) {
  const auto cases = bad_cases();
  ASSERT_GE(cases.size(), 150u);
  for (const auto& c : cases) {
    const auto before = snapshot(root);
    const auto started = std::chrono::steady_clock::now();
    const Reply reply = call(c.build(*this));
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(20)) << c.name << " hung";
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
