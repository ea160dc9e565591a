#include "cli/network_flags.hpp"

#include "net/port_spec.hpp"
#include "protocol/json_codec.hpp"

namespace microagent::cli {

void add_network_flags(CLI::App* cmd, NetworkFlags& flags) {
  cmd->add_option("--network", flags.network, "Guest network: user (default), nat, isolated, bridged:BRIDGE")
      ->capture_default_str();
  cmd->add_option("--publish,-p", flags.publish,
                  "Publish a guest TCP port on the host: [HOST:]HOSTPORT:GUESTPORT[/tcp] (HOST default 127.0.0.1; repeatable)")
      ->allow_extra_args(false);  // one value per --publish: the workload command may follow
  cmd->add_option("--mediation", flags.mediation,
                  "Bridge the guest's vsock PORT to a host TCP target: PORT=HOST:PORT (also on 127.0.0.1:PORT in the guest)");
  cmd->add_flag("--mediation-optional", flags.mediation_optional,
                "Start even when the mediation target is unreachable (default: fail closed)");
}

std::size_t count_network_flags(CLI::App* cmd) {
  return cmd->count("--network") + cmd->count("--publish") + cmd->count("--mediation") + cmd->count("--mediation-optional");
}

Result<void> apply_network_flags(const NetworkFlags& flags, protocol::WorkspaceConfig& config) {
  std::string mode = flags.network;
  std::string interface;
  if (const auto colon = mode.find(':'); colon != std::string::npos) {
    interface = mode.substr(colon + 1);
    mode = mode.substr(0, colon);
  }
  const auto parsed = protocol::network_mode_from_string(mode);
  if (!parsed) {
    return fail(ErrorCode::invalid_request, "--network '" + flags.network + "' must be user, nat, isolated or bridged:BRIDGE");
  }
  if (mode == "bridged" && interface.empty()) {
    return fail(ErrorCode::invalid_request, "--network bridged needs the bridge: --network bridged:BRIDGE");
  }
  if (mode != "bridged" && !interface.empty()) {
    return fail(ErrorCode::invalid_request, "--network " + mode + " takes no interface (only bridged:BRIDGE does)");
  }
  if (mode == "isolated" && !flags.publish.empty()) {
    return fail(ErrorCode::invalid_request, "--publish needs a network: an isolated workspace has none");
  }
  protocol::NetworkSpec network;
  network.mode = *parsed;
  network.interface = interface;
  for (const auto& text : flags.publish) {
    auto forward = net::parse_publish(text);
    if (!forward) return std::unexpected(forward.error());
    network.port_forwards.push_back(*forward);
  }
  config.network = std::move(network);
  config.mediation.reset();
  if (flags.mediation) {
    auto spec = net::parse_mediation(*flags.mediation, !flags.mediation_optional);
    if (!spec) return std::unexpected(spec.error());
    config.mediation = *spec;
  } else if (flags.mediation_optional) {
    return fail(ErrorCode::invalid_request, "--mediation-optional needs --mediation PORT=HOST:PORT");
  }
  return {};
}

}  // namespace microagent::cli
