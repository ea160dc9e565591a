#pragma once
// --network, --publish, --mediation and --mediation-optional on run, create and
// start (docs/networking.md), and how they land in a request's config.
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include "common/error.hpp"
#include "protocol/types.hpp"

namespace microagent::cli {

struct NetworkFlags {
  std::string network = "user";      // user | nat | isolated | bridged:BRIDGE
  std::vector<std::string> publish;  // [HOST:]HOSTPORT:GUESTPORT[/tcp]
  std::optional<std::string> mediation;  // PORT=HOST:PORT
  bool mediation_optional = false;
};

void add_network_flags(CLI::App* cmd, NetworkFlags& flags);
// How many network flags were given (a changed config for create/start).
std::size_t count_network_flags(CLI::App* cmd);

// Sets config.network and config.mediation. invalid_request for bad specs and
// for --publish on an isolated workspace, before any request is sent.
Result<void> apply_network_flags(const NetworkFlags& flags, protocol::WorkspaceConfig& config);

}  // namespace microagent::cli
