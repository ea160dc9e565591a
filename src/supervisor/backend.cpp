#include "supervisor/backend.hpp"

#include "protocol/json_codec.hpp"

namespace microagent::supervisor {

Response serve_request(Backend& backend, std::string_view request_text) {
  auto fail_response = [&](const Error& error) { return Response{protocol::error_response(backend.name(), error), 1}; };
  auto request = protocol::parse_request(request_text);
  if (!request) return fail_response(request.error());
  if (request->command == protocol::Command::host) {
    auto facts = backend.host_facts(*request);
    if (!facts) return fail_response(facts.error());
    return Response{{{"ok", true}, {"backend", backend.name()}, {"host", *facts}}, 0};
  }
  if (!request->identity->backend.empty() && request->identity->backend != backend.name()) {
    return fail_response(Error{ErrorCode::invalid_request,
                               "identity.backend is '" + request->identity->backend + "' but this supervisor serves '" +
                                   std::string(backend.name()) + "'"});
  }
  auto event = backend.handle(*request);
  if (!event) return fail_response(event.error());
  return Response{protocol::ok_response(backend.name(), *event), 0};
}

}  // namespace microagent::supervisor
