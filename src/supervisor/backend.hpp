#pragma once
// The backend-neutral side of a supervisor executable: one request in, one
// response out. Each backend implements Backend; serve_request turns every
// Error into the protocol's ok:false response in this one place.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "protocol/types.hpp"

namespace microagent::supervisor {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;
  // Facts about this host for the `host` command.
  virtual Result<nlohmann::json> host_facts() = 0;
  // The same, given the `host` request: its optional top-level "stateDir"
  // names the state dir doctor checks. Backends that need nothing from the
  // request keep this default.
  virtual Result<nlohmann::json> host_facts(const protocol::Request& request) {
    (void)request;
    return host_facts();
  }
  // Every other command; identity and config are present and validated.
  virtual Result<protocol::Event> handle(const protocol::Request& request) = 0;
};

struct Response {
  nlohmann::json body;
  int exit_code = 0;  // 0 exactly when body.ok is true
};

Response serve_request(Backend& backend, std::string_view request_text);

}  // namespace microagent::supervisor
