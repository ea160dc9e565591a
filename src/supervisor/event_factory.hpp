#pragma once
// A new event for the request's workspace, stamped now, naming the backend.
#include <string>
#include <string_view>

#include "protocol/types.hpp"

namespace microagent::supervisor {

protocol::Event event_for(const protocol::Request& request, std::string_view backend, protocol::State state,
                          std::string detail);

}  // namespace microagent::supervisor
