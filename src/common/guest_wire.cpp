#include "common/guest_wire.hpp"

#include <limits>
#include <nlohmann/json.hpp>

#include "common/base64.hpp"
#include "common/json_depth.hpp"

namespace microagent {
namespace {

using nlohmann::json;

// The decoders below read untrusted text (the host reads what a guest wrote),
// so they check every type themselves and never let nlohmann throw.
std::unexpected<Error> bad_field(std::string_view what, std::string_view key, std::string_view want) {
  return fail(ErrorCode::invalid_request,
              std::string(what) + ": field \"" + std::string(key) + "\" must be " + std::string(want));
}

Result<json> parse_object(const std::string& text, std::string_view what) {
  // Nothing the wire carries nests deeper than a few levels; a nesting bomb
  // would otherwise overflow the parser's stack.
  if (!json_nesting_within(text, 16)) return fail(ErrorCode::invalid_request, std::string(what) + ": nested too deeply");
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return fail(ErrorCode::invalid_request, std::string(what) + ": not valid JSON");
  if (!doc.is_object()) return fail(ErrorCode::invalid_request, std::string(what) + ": not a JSON object");
  return doc;
}

// Each reader leaves `out` untouched when the key is absent or null.
Result<void> read_string(const json& obj, const char* key, std::string_view what, std::string& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return {};
  if (!it->is_string()) return bad_field(what, key, "a string");
  out = it->get<std::string>();
  return {};
}

Result<void> read_bool(const json& obj, const char* key, std::string_view what, bool& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return {};
  if (!it->is_boolean()) return bad_field(what, key, "a boolean");
  out = it->get<bool>();
  return {};
}

Result<void> read_u64(const json& obj, const char* key, std::string_view what, std::uint64_t max,
                      std::uint64_t& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return {};
  if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<std::int64_t>() >= 0)) {
    return bad_field(what, key, "a non-negative integer");
  }
  const auto value = it->get<std::uint64_t>();
  if (value > max) return bad_field(what, key, "at most " + std::to_string(max));
  out = value;
  return {};
}

Result<void> read_optional_int(const json& obj, const char* key, std::string_view what,
                               std::optional<int>& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return {};
  if (!it->is_number_integer()) return bad_field(what, key, "an integer or null");
  const auto value = it->get<std::int64_t>();
  if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max()) {
    return bad_field(what, key, "a 32-bit integer");
  }
  out = static_cast<int>(value);
  return {};
}

Result<void> read_base64(const json& obj, const char* key, std::string_view what, std::string& out) {
  std::string encoded;
  if (auto r = read_string(obj, key, what, encoded); !r) return r;
  auto decoded = base64_decode(encoded);
  if (!decoded) return bad_field(what, key, "standard base64");
  out = std::move(*decoded);
  return {};
}

Result<std::vector<GuestDisk>> read_disks(const json& obj) {
  std::vector<GuestDisk> disks;
  auto it = obj.find("disks");
  if (it == obj.end() || it->is_null()) return disks;
  if (!it->is_array()) return bad_field("guest config", "disks", "an array");
  for (const auto& entry : *it) {
    if (!entry.is_object()) return bad_field("guest config", "disks[]", "an object");
    GuestDisk disk;
    if (auto r = read_string(entry, "device", "guest config disk", disk.device); !r) return std::unexpected(r.error());
    if (auto r = read_string(entry, "mount", "guest config disk", disk.mount); !r) return std::unexpected(r.error());
    if (auto r = read_bool(entry, "readOnly", "guest config disk", disk.read_only); !r) return std::unexpected(r.error());
    if (disk.device.empty() || disk.mount.empty() || disk.mount.front() != '/') {
      return fail(ErrorCode::invalid_request,
                  "guest config disk: \"device\" and an absolute \"mount\" are required");
    }
    disks.push_back(std::move(disk));
  }
  return disks;
}

json network_to_json(const GuestNetwork& n) {
  json forwards = json::array();
  for (const auto& f : n.forwards) forwards.push_back({{"vsockPort", f.vsock_port}, {"guestPort", f.guest_port}});
  return {{"mode", n.mode},       {"interface", n.interface}, {"address", n.address},
          {"prefix", n.prefix},   {"gateway", n.gateway},     {"dns", n.dns},
          {"forwards", forwards}, {"mediationPort", n.mediation_port}};
}

Result<GuestNetwork> read_network(const json& obj) {
  constexpr std::string_view what = "guest config network";
  GuestNetwork n;
  auto it = obj.find("network");
  if (it == obj.end() || it->is_null()) return n;
  if (!it->is_object()) return bad_field("guest config", "network", "an object");
  const json& net = *it;
  std::uint64_t prefix = 0, mediation = 0;
  for (auto r : {read_string(net, "mode", what, n.mode), read_string(net, "interface", what, n.interface),
                 read_string(net, "address", what, n.address), read_string(net, "gateway", what, n.gateway),
                 read_u64(net, "prefix", what, 32, prefix),
                 read_u64(net, "mediationPort", what, std::numeric_limits<std::uint32_t>::max(), mediation)}) {
    if (!r) return std::unexpected(r.error());
  }
  n.prefix = static_cast<int>(prefix);
  n.mediation_port = static_cast<std::uint32_t>(mediation);
  if (auto dns = net.find("dns"); dns != net.end() && !dns->is_null()) {
    if (!dns->is_array()) return bad_field(what, "dns", "an array of strings");
    for (const auto& server : *dns) {
      if (!server.is_string()) return bad_field(what, "dns", "an array of strings");
      n.dns.push_back(server.get<std::string>());
    }
  }
  if (auto forwards = net.find("forwards"); forwards != net.end() && !forwards->is_null()) {
    if (!forwards->is_array()) return bad_field(what, "forwards", "an array");
    for (const auto& entry : *forwards) {
      if (!entry.is_object()) return bad_field(what, "forwards[]", "an object");
      std::uint64_t vsock_port = 0, guest_port = 0;
      if (auto r = read_u64(entry, "vsockPort", what, std::numeric_limits<std::uint32_t>::max(), vsock_port); !r) {
        return std::unexpected(r.error());
      }
      if (auto r = read_u64(entry, "guestPort", what, 65535, guest_port); !r) return std::unexpected(r.error());
      if (vsock_port == 0 || guest_port == 0) {
        return fail(ErrorCode::invalid_request, "guest config network forwards[]: vsockPort and guestPort are required");
      }
      n.forwards.push_back({static_cast<std::uint32_t>(vsock_port), static_cast<std::uint16_t>(guest_port)});
    }
  }
  // An interface without an address is brought up unconfigured (bridged); an address needs its prefix.
  if (!n.address.empty() && (n.interface.empty() || n.prefix == 0)) {
    return fail(ErrorCode::invalid_request, "guest config network: an \"address\" needs \"interface\" and \"prefix\"");
  }
  return n;
}

}  // namespace

std::string guest_config_to_json(const GuestConfig& config) {
  json disks = json::array();
  for (const auto& disk : config.disks) {
    disks.push_back({{"device", disk.device}, {"mount", disk.mount}, {"readOnly", disk.read_only}});
  }
  json doc = {
      {"argv", config.argv},
      {"env", config.env},
      {"workdir", config.workdir},
      {"hostname", config.hostname},
      {"user", config.user},
      {"resultPort", config.result_port},
      {"outputLimit", config.output_limit},
      {"rootDevice", config.root_device},
      {"disks", std::move(disks)},
      {"keepAlive", config.keep_alive},
  };
  // Only when there is something to say: configs without networking stay as short as before.
  const auto& n = config.network;
  if (!n.interface.empty() || !n.forwards.empty() || n.mediation_port != 0) doc["network"] = network_to_json(n);
  return doc.dump();
}

Result<GuestConfig> guest_config_from_json(const std::string& text) {
  constexpr std::string_view what = "guest config";
  auto doc = parse_object(text, what);
  if (!doc) return std::unexpected(doc.error());
  const json& obj = *doc;
  GuestConfig config;

  if (auto r = read_bool(obj, "keepAlive", what, config.keep_alive); !r) return std::unexpected(r.error());
  // A kept-alive guest may have no workload; every other guest must have one.
  const bool argv_optional = config.keep_alive;
  auto argv = obj.find("argv");
  if (argv_optional && (argv == obj.end() || argv->is_null())) {
    // no workload
  } else if (argv == obj.end() || !argv->is_array() || (argv->empty() && !argv_optional)) {
    return bad_field(what, "argv", "a non-empty array of strings");
  } else {
    for (const auto& arg : *argv) {
      if (!arg.is_string()) return bad_field(what, "argv", "a non-empty array of strings");
      config.argv.push_back(arg.get<std::string>());
    }
    if (!config.argv.empty() && config.argv.front().empty()) {
      return bad_field(what, "argv", "a non-empty array of strings");
    }
  }

  if (auto env = obj.find("env"); env != obj.end() && !env->is_null()) {
    if (!env->is_object()) return bad_field(what, "env", "an object of strings");
    for (const auto& [key, value] : env->items()) {
      if (!value.is_string()) return bad_field(what, "env", "an object of strings");
      if (key.empty() || key.find('=') != std::string::npos) {
        return bad_field(what, "env", "keyed by names without '='");
      }
      config.env[key] = value.get<std::string>();
    }
  }
  std::uint64_t port = config.result_port;
  if (auto r = read_string(obj, "workdir", what, config.workdir); !r) return std::unexpected(r.error());
  if (auto r = read_string(obj, "hostname", what, config.hostname); !r) return std::unexpected(r.error());
  if (auto r = read_string(obj, "user", what, config.user); !r) return std::unexpected(r.error());
  if (auto r = read_u64(obj, "resultPort", what, std::numeric_limits<std::uint32_t>::max(), port); !r) {
    return std::unexpected(r.error());
  }
  config.result_port = static_cast<std::uint32_t>(port);
  if (auto r = read_u64(obj, "outputLimit", what, std::numeric_limits<std::uint64_t>::max(), config.output_limit); !r) {
    return std::unexpected(r.error());
  }
  if (auto r = read_string(obj, "rootDevice", what, config.root_device); !r) return std::unexpected(r.error());
  auto disks = read_disks(obj);
  if (!disks) return std::unexpected(disks.error());
  config.disks = std::move(*disks);
  auto network = read_network(obj);
  if (!network) return std::unexpected(network.error());
  config.network = std::move(*network);
  if (config.workdir.empty()) config.workdir = "/";
  return config;
}

std::string guest_result_to_json(const GuestResult& result) {
  json doc = {
      {"exitCode", result.exit_code ? json(*result.exit_code) : json(nullptr)},
      {"signal", result.signal ? json(*result.signal) : json(nullptr)},
      {"stdout", base64_encode(result.stdout_data)},
      {"stderr", base64_encode(result.stderr_data)},
      {"stdoutTruncated", result.stdout_truncated},
      {"stderrTruncated", result.stderr_truncated},
      {"stdoutBytes", result.stdout_bytes},
      {"stderrBytes", result.stderr_bytes},
      {"error", result.error.empty() ? json(nullptr) : json(result.error)},
      {"startedAt", result.started_at},
      {"finishedAt", result.finished_at},
      {"durationMs", result.duration_ms},
      {"kernelRelease", result.kernel_release},
  };
  // replace: a workload's error text could hold invalid UTF-8; never throw for it.
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<GuestResult> guest_result_from_json(const std::string& text) {
  constexpr std::string_view what = "guest result";
  auto doc = parse_object(text, what);
  if (!doc) return std::unexpected(doc.error());
  const json& obj = *doc;
  GuestResult result;
  constexpr auto u64_max = std::numeric_limits<std::uint64_t>::max();
  for (auto r : {read_optional_int(obj, "exitCode", what, result.exit_code),
                 read_optional_int(obj, "signal", what, result.signal),
                 read_base64(obj, "stdout", what, result.stdout_data),
                 read_base64(obj, "stderr", what, result.stderr_data),
                 read_bool(obj, "stdoutTruncated", what, result.stdout_truncated),
                 read_bool(obj, "stderrTruncated", what, result.stderr_truncated),
                 read_u64(obj, "stdoutBytes", what, u64_max, result.stdout_bytes),
                 read_u64(obj, "stderrBytes", what, u64_max, result.stderr_bytes),
                 read_string(obj, "error", what, result.error),
                 read_string(obj, "startedAt", what, result.started_at),
                 read_string(obj, "finishedAt", what, result.finished_at),
                 read_u64(obj, "durationMs", what, u64_max, result.duration_ms),
                 read_string(obj, "kernelRelease", what, result.kernel_release)}) {
    if (!r) return std::unexpected(r.error());
  }
  return result;
}

std::optional<std::string> encode_config_cmdline_param(const GuestConfig& config) {
  std::string param = std::string(kCmdlineConfigKey) + "=" + base64url_encode(guest_config_to_json(config));
  if (param.size() > kCmdlineConfigBudget) return std::nullopt;
  return param;
}

Result<GuestConfig> decode_config_from_cmdline(const std::string& cmdline) {
  const std::string prefix = std::string(kCmdlineConfigKey) + "=";
  std::optional<std::string_view> value;
  std::string_view rest = cmdline;
  // Parameters are separated by whitespace; base64url never needs quoting.
  // The last occurrence wins, as for most kernel parameters.
  while (!rest.empty()) {
    const auto start = rest.find_first_not_of(" \t\n");
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    const auto end = rest.find_first_of(" \t\n");
    const std::string_view token = rest.substr(0, end);
    if (token.starts_with(prefix)) value = token.substr(prefix.size());
    rest.remove_prefix(token.size());
  }
  if (!value) {
    return fail(ErrorCode::not_found, std::string("kernel command line has no ") + kCmdlineConfigKey);
  }
  auto json_text = base64url_decode(*value);
  if (!json_text) {
    return fail(ErrorCode::invalid_request,
                std::string(kCmdlineConfigKey) + " is not valid base64url: " + json_text.error().message);
  }
  return guest_config_from_json(*json_text);
}

std::string halt_command_line(std::chrono::milliseconds grace) {
  return json{{"command", "halt"}, {"graceMs", grace.count()}}.dump() + "\n";
}

}  // namespace microagent
