#pragma once
// The small questions every backend's lifecycle asks of a workspace's state
// files: which store, what state it is in, and recording an event.
#include <optional>

#include "common/error.hpp"
#include "protocol/types.hpp"
#include "supervisor/runtime_store.hpp"

namespace microagent::supervisor {

// The request's workspace: invalid_request when it has no identity or config,
// or its runtimeID is not one (the codec refuses those already).
Result<RuntimeStore> store_for(const protocol::Request& request);

// Appends the event to the history, makes it the latest, and returns it.
Result<protocol::Event> record(const RuntimeStore& store, protocol::Event event);

// The latest recorded state; nullopt when there is none (or it cannot be read).
std::optional<protocol::State> latest_state(const RuntimeStore& store);

// A VM is (or is about to be) running: starting, running or stopping.
bool is_active(std::optional<protocol::State> state);

}  // namespace microagent::supervisor
