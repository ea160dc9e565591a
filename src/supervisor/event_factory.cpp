#include "supervisor/event_factory.hpp"

#include "common/clock.hpp"

namespace microagent::supervisor {

protocol::Event event_for(const protocol::Request& request, std::string_view backend, protocol::State state,
                          std::string detail) {
  protocol::Event event;
  if (request.identity) event.identity = *request.identity;
  event.identity.backend = std::string(backend);
  event.state = state;
  event.observed_at = rfc3339_now();
  event.detail = std::move(detail);
  return event;
}

}  // namespace microagent::supervisor
