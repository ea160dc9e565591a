#include "supervisor/runtime_record.hpp"

#include <system_error>

namespace microagent::supervisor {

using nlohmann::json;

namespace {

// Host-written, read defensively: a missing field or one of the wrong type is absent.
std::string text_of(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

pid_t pid_of(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return 0;
  const auto value = it->get<std::int64_t>();
  return value > 0 && value <= 0x3fffffff ? static_cast<pid_t>(value) : 0;
}

bool flag_of(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

void put_text(json& j, const char* key, const std::string& value) {
  if (!value.empty()) j[key] = value;
}

void put_pid(json& j, const char* key, pid_t value) {
  if (value > 0) j[key] = value;
}

}  // namespace

json to_json(const RuntimeNetwork& n) {
  json j = net::assignment_to_json(n.assignment);
  j["runtimeKey"] = n.runtime_key;
  put_pid(j, "passtPid", n.passt_pid);
  put_text(j, "passtDir", n.passt_dir);
  return j;
}

RuntimeNetwork runtime_network_from_json(const json& j) {
  RuntimeNetwork n;
  if (!j.is_object()) return n;
  n.assignment = net::assignment_from_json(j);
  n.runtime_key = text_of(j, "runtimeKey");
  n.passt_pid = pid_of(j, "passtPid");
  n.passt_dir = text_of(j, "passtDir");
  return n;
}

json to_json(const RuntimeRecord& r) {
  json j{{"backend", r.backend}};
  put_text(j, "runtimeID", r.runtime_id);
  put_pid(j, "supervisorPid", r.supervisor_pid);
  put_pid(j, "shimPid", r.shim_pid);
  if (r.foreground) j["foreground"] = true;
  put_pid(j, "qemuPid", r.qemu_pid);
  if (!r.qemu_argv.empty()) j["qemuArgv"] = r.qemu_argv;
  put_text(j, "accel", r.accel);
  put_text(j, "accelReason", r.accel_reason);
  put_text(j, "kernelPath", r.kernel_path);
  put_text(j, "initrdPath", r.initrd_path);
  put_text(j, "rootfsPath", r.rootfs_path);
  put_text(j, "kernelCmdline", r.kernel_cmdline);
  put_text(j, "vsockDevice", r.vsock_device);
  if (r.sockets) {
    j["sockets"] = {{"vhostUser", r.sockets->vhost_user}, {"vsock", r.sockets->vsock}, {"qmp", r.sockets->qmp},
                    {"serialIn", r.sockets->serial_in}};
  }
  if (r.network) j["network"] = to_json(*r.network);
  put_text(j, "startedAt", r.started_at);
  put_text(j, "severedAt", r.severed_at);
  if (!r.degraded.empty()) {
    json degraded = json::array();
    for (const auto& d : r.degraded) degraded.push_back({{"component", d.component}, {"at", d.at}, {"detail", d.detail}});
    j["degraded"] = std::move(degraded);
  }
  if (r.qemu_exited) j["qemuExited"] = true;
  put_text(j, "exitedAt", r.exited_at);
  put_text(j, "qemuExit", r.qemu_exit);
  return j;
}

RuntimeRecord runtime_record_from_json(const json& j) {
  RuntimeRecord r;
  if (!j.is_object()) return r;
  if (auto backend = text_of(j, "backend"); !backend.empty()) r.backend = backend;
  r.runtime_id = text_of(j, "runtimeID");
  r.supervisor_pid = pid_of(j, "supervisorPid");
  r.shim_pid = pid_of(j, "shimPid");
  r.foreground = flag_of(j, "foreground");
  r.qemu_pid = pid_of(j, "qemuPid");
  if (auto argv = j.find("qemuArgv"); argv != j.end() && argv->is_array()) {
    for (const auto& arg : *argv) {
      if (arg.is_string()) r.qemu_argv.push_back(arg.get<std::string>());
    }
  }
  r.accel = text_of(j, "accel");
  r.accel_reason = text_of(j, "accelReason");
  r.kernel_path = text_of(j, "kernelPath");
  r.initrd_path = text_of(j, "initrdPath");
  r.rootfs_path = text_of(j, "rootfsPath");
  r.kernel_cmdline = text_of(j, "kernelCmdline");
  r.vsock_device = text_of(j, "vsockDevice");
  if (auto s = j.find("sockets"); s != j.end() && s->is_object()) {
    r.sockets = RuntimeSockets{text_of(*s, "vhostUser"), text_of(*s, "vsock"), text_of(*s, "qmp"), text_of(*s, "serialIn")};
  }
  if (auto n = j.find("network"); n != j.end() && n->is_object()) r.network = runtime_network_from_json(*n);
  r.started_at = text_of(j, "startedAt");
  r.severed_at = text_of(j, "severedAt");
  if (auto degraded = j.find("degraded"); degraded != j.end() && degraded->is_array()) {
    for (const auto& d : *degraded) {
      if (d.is_object()) r.degraded.push_back({text_of(d, "component"), text_of(d, "at"), text_of(d, "detail")});
    }
  }
  r.qemu_exited = flag_of(j, "qemuExited");
  r.exited_at = text_of(j, "exitedAt");
  r.qemu_exit = text_of(j, "qemuExit");
  return r;
}

Result<void> write_runtime_record(const RuntimeStore& store, const RuntimeRecord& record) {
  return store.write_runtime(to_json(record));
}

Result<std::optional<RuntimeRecord>> read_runtime_record(const RuntimeStore& store) {
  std::error_code ec;
  if (!std::filesystem::exists(store.runtime_path(), ec)) return std::optional<RuntimeRecord>();
  auto j = store.read_runtime();
  if (!j) return std::unexpected(j.error());
  return std::optional<RuntimeRecord>(runtime_record_from_json(*j));
}

}  // namespace microagent::supervisor
