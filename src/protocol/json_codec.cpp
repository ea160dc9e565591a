#include "protocol/json_codec.hpp"

#include <array>
#include <filesystem>
#include <utility>

#include "protocol/field_reader.hpp"
#include "protocol/request_bounds.hpp"
#include "protocol/request_options.hpp"

namespace microagent::protocol {
namespace {

using nlohmann::json;

constexpr std::array<std::pair<State, std::string_view>, 9> kStates{{
    {State::unknown, "unknown"},
    {State::prepared, "prepared"},
    {State::starting, "starting"},
    {State::running, "running"},
    {State::stopping, "stopping"},
    {State::halted, "halted"},
    {State::quarantined, "quarantined"},
    {State::stopped, "stopped"},
    {State::failed, "failed"},
}};

constexpr std::array<std::pair<Command, std::string_view>, 12> kCommands{{
    {Command::host, "host"},
    {Command::check, "check"},
    {Command::prepare, "prepare"},
    {Command::run, "run"},
    {Command::start, "start"},
    {Command::inspect, "inspect"},
    {Command::halt, "halt"},
    {Command::quarantine, "quarantine"},
    {Command::stop, "stop"},
    {Command::kill, "kill"},
    {Command::remove, "delete"},
    {Command::console, "console"},
}};

// Bounds a request must meet whatever the host: results are held in memory
// (outputLimit), deadlines are computed in milliseconds (timeoutSeconds).
constexpr std::int64_t kMaxTimeoutSeconds = 30LL * 24 * 3600;
constexpr std::uint64_t kMaxOutputLimit = 64ULL * 1024 * 1024;
constexpr std::size_t kMaxDisks = 16;
constexpr std::size_t kMaxPortForwards = 64;

bool has_nul(std::string_view text) { return text.find('\0') != std::string_view::npos; }

// Dotted-quad IPv4 ("a.b.c.d", each 0-255, no leading zeros beyond "0").
bool is_ipv4_literal(std::string_view text) {
  int parts = 0;
  std::size_t i = 0;
  while (i <= text.size()) {
    std::size_t j = i;
    while (j < text.size() && text[j] >= '0' && text[j] <= '9') ++j;
    const auto digits = text.substr(i, j - i);
    if (digits.empty() || digits.size() > 3 || (digits.size() > 1 && digits[0] == '0')) return false;
    if (std::stoi(std::string(digits)) > 255) return false;
    ++parts;
    if (j == text.size()) break;
    if (text[j] != '.' || parts == 4) return false;
    i = j + 1;
  }
  return parts == 4;
}

bool is_loopback_ipv4(std::string_view text) { return text.rfind("127.", 0) == 0; }

bool is_absolute_clean(std::string_view path) {
  return !path.empty() && path.front() == '/' && !has_nul(path);
}

// stateDir is a path of the host the supervisor runs on: on Windows
// (windows-hyperv) that is "C:\..." or "\\server\share\..."; guest paths stay POSIX.
bool is_absolute_host_path(std::string_view path) {
#ifdef _WIN32
  return !path.empty() && !has_nul(path) && std::filesystem::path(std::string(path)).is_absolute();
#else
  return is_absolute_clean(path);
#endif
}

void validate_config(FieldReader& reader, const WorkspaceConfig& config) {
  if (!is_absolute_host_path(config.state_dir)) reader.error("config.stateDir must be an absolute path");
  if (config.memory_mib < 64 || config.memory_mib > 1024 * 1024) {
    reader.error("config.memoryMiB must be between 64 and 1048576");
  }
  if (config.cpu_count < 1 || config.cpu_count > 256) reader.error("config.cpuCount must be between 1 and 256");
  for (const auto& arg : config.command) {
    if (has_nul(arg)) reader.error("config.command must not contain NUL bytes");
  }
  for (const auto& [key, value] : config.env) {
    if (key.empty() || key.find('=') != std::string::npos || has_nul(key) || has_nul(value)) {
      reader.error("config.env has an invalid variable name: '" + key + "'");
    }
  }
  if (!is_absolute_clean(config.workdir)) reader.error("config.workdir must be an absolute path");
  if (has_nul(config.user) || config.user.find_first_of(" \t\n") != std::string::npos) {
    reader.error("config.user must be \"uid[:gid]\" or \"name[:group]\"");
  }
  if (config.image && config.image->digest.rfind("sha256:", 0) != 0) {
    reader.error("config.image.digest must be \"sha256:<hex>\"");
  }
  for (const auto& disk : config.disks) {
    if (disk.path.empty() || has_nul(disk.path)) reader.error("config.disks[].path is required");
    if (disk.mode != "ro" && disk.mode != "rw") reader.error("config.disks[].mode must be \"ro\" or \"rw\"");
    if (!is_absolute_clean(disk.mount)) reader.error("config.disks[].mount must be an absolute path");
  }
  if (config.result_port == 0) reader.error("config.result.port must be positive");
  if (config.timeout_seconds < 0 || config.timeout_seconds > kMaxTimeoutSeconds) {
    reader.error("config.timeoutSeconds must be between 0 and 2592000 (30 days)");
  }
  if (config.output_limit > kMaxOutputLimit) reader.error("config.outputLimit must be at most 67108864 (64 MiB)");
  if (config.disks.size() > kMaxDisks) reader.error("config.disks has more than 16 entries");
  if (config.network.port_forwards.size() > kMaxPortForwards) {
    reader.error("config.network.portForwards has more than 64 entries");
  }
}

}  // namespace

std::string_view to_string(State state) {
  for (const auto& [s, name] : kStates) {
    if (s == state) return name;
  }
  return "unknown";
}

std::optional<State> state_from_string(std::string_view text) {
  for (const auto& [s, name] : kStates) {
    if (name == text) return s;
  }
  return std::nullopt;
}

std::string_view to_string(Command command) {
  for (const auto& [c, name] : kCommands) {
    if (c == command) return name;
  }
  return "unknown";
}

std::optional<Command> command_from_string(std::string_view text) {
  for (const auto& [c, name] : kCommands) {
    if (name == text) return c;
  }
  return std::nullopt;
}

constexpr std::pair<NetworkMode, std::string_view> kNetworkModes[] = {
    {NetworkMode::user, "user"}, {NetworkMode::nat, "nat"}, {NetworkMode::isolated, "isolated"}, {NetworkMode::bridged, "bridged"}};

std::string_view to_string(NetworkMode mode) {
  for (const auto& [m, name] : kNetworkModes) {
    if (m == mode) return name;
  }
  return "isolated";
}

std::optional<NetworkMode> network_mode_from_string(std::string_view text) {
  for (const auto& [m, name] : kNetworkModes) {
    if (name == text) return m;
  }
  return std::nullopt;
}

json to_json(const Identity& identity) {
  return json{{"requestID", identity.request_id},
              {"runtimeID", identity.runtime_id},
              {"role", identity.role},
              {"backend", identity.backend}};
}

json to_json(const NetworkSpec& network) {
  json forwards = json::array();
  for (const auto& f : network.port_forwards) {
    forwards.push_back({{"host", f.host},
                        {"hostPort", f.host_port},
                        {"guestPort", f.guest_port},
                        {"protocol", f.protocol},
                        {"exposed", f.exposed}});
  }
  return {{"mode", to_string(network.mode)}, {"interface", network.interface}, {"portForwards", forwards}};
}

json to_json(const MediationSpec& m) { return {{"port", m.port}, {"target", m.target}, {"required", m.required}}; }

json to_json(const WorkspaceConfig& c) {
  json disks = json::array();
  for (const auto& d : c.disks) disks.push_back({{"path", d.path}, {"mode", d.mode}, {"mount", d.mount}});
  json out{{"stateDir", c.state_dir},
           {"kernelPath", c.kernel_path},
           {"initrdPath", c.initrd_path},
           {"rootfsPath", c.rootfs_path},
           {"memoryMiB", c.memory_mib},
           {"cpuCount", c.cpu_count},
           {"command", c.command},
           {"env", c.env},
           {"workdir", c.workdir},
           {"user", c.user},
           {"disks", disks},
           {"network", to_json(c.network)},
           {"result", {{"port", c.result_port}}},
           {"outputLimit", c.output_limit},
           {"timeoutSeconds", c.timeout_seconds}};
  if (c.image) out["image"] = {{"reference", c.image->reference}, {"digest", c.image->digest}};
  if (c.mediation) out["mediation"] = to_json(*c.mediation);
  return out;
}

json to_json(const Readiness& r) {
  auto signal = [](const ReadinessSignal& s) {
    json out{{"ready", s.ready}};
    if (!s.observed_at.empty()) out["observedAt"] = s.observed_at;
    if (!s.detail.empty()) out["detail"] = s.detail;
    if (!s.error.empty()) out["error"] = s.error;
    return out;
  };
  return json{{"guestReady", signal(r.guest_ready)},
              {"shellReady", signal(r.shell_ready)},
              {"resultReady", signal(r.result_ready)},
              {"mediationReady", signal(r.mediation_ready)}};
}

json to_json(const Event& event) {
  json out{{"identity", to_json(event.identity)},
           {"state", to_string(event.state)},
           {"observedAt", event.observed_at},
           {"detail", event.detail}};
  if (event.result) out["result"] = *event.result;
  if (event.readiness) out["readiness"] = to_json(*event.readiness);
  if (event.manifest) out["manifest"] = *event.manifest;
  return out;
}

Result<Identity> identity_from_json(const json& j) {
  if (!j.is_object()) return fail(ErrorCode::invalid_request, "identity must be an object");
  FieldReader reader(j, "identity");
  Identity identity;
  reader.read("requestID", identity.request_id);
  reader.read("runtimeID", identity.runtime_id, true);
  reader.read("role", identity.role);
  reader.read("backend", identity.backend);
  if (!reader.ok()) return std::unexpected(reader.first_error());
  if (auto valid = validate_runtime_id(identity.runtime_id); !valid) return std::unexpected(valid.error());
  return identity;
}

Result<WorkspaceConfig> config_from_json(const json& j) {
  if (!j.is_object()) return fail(ErrorCode::invalid_request, "config must be an object");
  FieldReader reader(j, "config");
  WorkspaceConfig c;
  reader.read("stateDir", c.state_dir, true);
  reader.read("kernelPath", c.kernel_path);
  reader.read("initrdPath", c.initrd_path);
  reader.read("rootfsPath", c.rootfs_path);
  reader.read("memoryMiB", c.memory_mib);
  reader.read("cpuCount", c.cpu_count);
  reader.read("command", c.command);
  reader.read("env", c.env);
  reader.read("workdir", c.workdir);
  reader.read("user", c.user);
  reader.read("outputLimit", c.output_limit);
  if (auto* image = reader.object("image")) {
    FieldReader ir(*image, "config.image");
    ImageRef ref;
    ir.read("reference", ref.reference);
    ir.read("digest", ref.digest, true);
    if (!ir.ok()) reader.error(ir.first_error().message);
    c.image = ref;
  }
  reader.read("timeoutSeconds", c.timeout_seconds);
  if (auto* disks = reader.array("disks")) {
    for (const auto& d : *disks) {
      if (!d.is_object()) {
        reader.error("config.disks[] must be objects");
        break;
      }
      FieldReader dr(d, "config.disks[]");
      DiskSpec disk;
      dr.read("path", disk.path, true);
      dr.read("mode", disk.mode);
      dr.read("mount", disk.mount, true);
      if (!dr.ok()) reader.error(dr.first_error().message);
      c.disks.push_back(disk);
    }
  }
  if (auto* net = reader.object("network")) {
    FieldReader nr(*net, "config.network");
    std::string mode = "user";
    nr.read("mode", mode);
    if (auto parsed = network_mode_from_string(mode)) {
      c.network.mode = *parsed;
    } else if (nr.ok()) {
      nr.error("config.network.mode must be one of user, nat, isolated, bridged");
    }
    nr.read("interface", c.network.interface);
    if (auto* forwards = nr.array("portForwards")) {
      for (const auto& f : *forwards) {
        if (!f.is_object()) {
          nr.error("config.network.portForwards[] must be objects");
          break;
        }
        FieldReader fr(f, "config.network.portForwards[]");
        PortForward forward;
        std::uint32_t host_port = 0, guest_port = 0;
        fr.read("host", forward.host);
        fr.read("hostPort", host_port, true);
        fr.read("guestPort", guest_port, true);
        fr.read("protocol", forward.protocol);
        fr.read("exposed", forward.exposed);
        if (fr.ok() && (host_port == 0 || host_port > 65535 || guest_port == 0 || guest_port > 65535)) {
          fr.error("config.network.portForwards[] ports must be 1-65535");
        }
        if (fr.ok() && forward.protocol != "tcp") fr.error("config.network.portForwards[].protocol must be tcp");
        if (fr.ok() && !is_ipv4_literal(forward.host)) {
          fr.error("config.network.portForwards[].host must be an IPv4 address");
        }
        if (fr.ok() && !is_loopback_ipv4(forward.host) && !forward.exposed) {
          fr.error("config.network.portForwards[].host " + forward.host +
                   " is beyond loopback: set \"exposed\": true to publish there");
        }
        if (!fr.ok()) nr.error(fr.first_error().message);
        forward.host_port = static_cast<std::uint16_t>(host_port);
        forward.guest_port = static_cast<std::uint16_t>(guest_port);
        c.network.port_forwards.push_back(forward);
      }
    }
    if (!nr.ok()) reader.error(nr.first_error().message);
  }
  if (auto* mediation = reader.object("mediation")) {
    FieldReader mr(*mediation, "config.mediation");
    MediationSpec m;
    mr.read("port", m.port, true);
    mr.read("target", m.target, true);
    mr.read("required", m.required);
    if (!mr.ok()) reader.error(mr.first_error().message);
    c.mediation = m;
  }
  if (auto* result = reader.object("result")) {
    FieldReader rr(*result, "config.result");
    rr.read("port", c.result_port);
    if (!rr.ok()) reader.error(rr.first_error().message);
  }
  if (reader.ok()) validate_config(reader, c);
  if (!reader.ok()) return std::unexpected(reader.first_error());
  return c;
}

Result<Event> event_from_json(const json& j) {
  if (!j.is_object()) return fail(ErrorCode::internal, "event must be an object");
  Event event;
  FieldReader reader(j, "event");
  std::string state;
  reader.read("state", state, true);
  reader.read("observedAt", event.observed_at);
  reader.read("detail", event.detail);
  if (auto* identity = reader.object("identity")) {
    auto parsed = identity_from_json(*identity);
    if (!parsed) return std::unexpected(parsed.error());
    event.identity = *parsed;
  }
  if (!reader.ok()) return std::unexpected(reader.first_error());
  auto parsed_state = state_from_string(state);
  if (!parsed_state) return fail(ErrorCode::internal, "event.state '" + state + "' is not a known state");
  event.state = *parsed_state;
  if (j.contains("result") && !j["result"].is_null()) event.result = j["result"];
  if (j.contains("manifest") && j["manifest"].is_object()) event.manifest = j["manifest"];
  return event;
}

Result<Request> parse_request(std::string_view text) {
  if (auto bounded = check_request_bounds(text); !bounded) return std::unexpected(bounded.error());
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return fail(ErrorCode::invalid_request, "request is not valid JSON");
  if (!j.is_object()) return fail(ErrorCode::invalid_request, "request must be a JSON object");
  FieldReader reader(j, "");
  std::string command_name;
  reader.read("command", command_name, true);
  if (!reader.ok()) return std::unexpected(reader.first_error());
  auto command = command_from_string(command_name);
  if (!command) return fail(ErrorCode::unsupported, "unknown command '" + command_name + "'");

  Request request;
  request.command = *command;
  if (*command == Command::host) {
    auto dir = host_state_dir_from_json(j);
    if (!dir) return std::unexpected(dir.error());
    request.options.host_state_dir = std::move(*dir);
    return request;
  }
  auto options = options_from_json(j);
  if (!options) return std::unexpected(options.error());
  request.options = *options;

  const json* identity = reader.object("identity", true);
  if (!reader.ok()) return std::unexpected(reader.first_error());
  auto parsed_identity = identity_from_json(*identity);
  if (!parsed_identity) return std::unexpected(parsed_identity.error());
  request.identity = *parsed_identity;

  const json* config = reader.object("config", true);
  if (!reader.ok()) return std::unexpected(reader.first_error());
  const bool needs_full_config = *command != Command::inspect && *command != Command::stop &&
                                 *command != Command::kill && *command != Command::remove;
  if (needs_full_config) {
    auto parsed_config = config_from_json(*config);
    if (!parsed_config) return std::unexpected(parsed_config.error());
    request.config = *parsed_config;
  } else {
    FieldReader cr(*config, "config");
    WorkspaceConfig c;
    cr.read("stateDir", c.state_dir, true);
    if (cr.ok() && !is_absolute_host_path(c.state_dir)) cr.error("config.stateDir must be an absolute path");
    if (!cr.ok()) return std::unexpected(cr.first_error());
    request.config = c;
  }
  return request;
}

json ok_response(std::string_view backend, const Event& event) {
  return json{{"ok", true}, {"backend", backend}, {"event", to_json(event)}};
}

json error_response(std::string_view backend, const Error& error) {
  return json{{"ok", false},
              {"backend", backend},
              {"error", {{"code", to_string(error.code)}, {"message", error.message}}}};
}

}  // namespace microagent::protocol
