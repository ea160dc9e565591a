#pragma once
// An event of this backend about the request's workspace.
#include <string>

#include "backends/windows_hyperv/hv_constants.hpp"
#include "supervisor/event_factory.hpp"

namespace microagent::windows_hyperv {

inline protocol::Event make_event(const protocol::Request& request, protocol::State state, std::string detail) {
  return supervisor::event_for(request, kBackendName, state, std::move(detail));
}

}  // namespace microagent::windows_hyperv
