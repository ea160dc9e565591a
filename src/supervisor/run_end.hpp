#pragma once
// How every backend ends a foreground run once the guest's answer (or its
// absence) is known: the same final event, result.json and wording.
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "common/guest_wire.hpp"
#include "protocol/types.hpp"
#include "supervisor/runtime_store.hpp"

namespace microagent::supervisor {

// What the workload did, for an event's detail.
std::string guest_result_detail(const GuestResult& result);

// `stopped` carrying the guest's result (also written to result.json), or
// `failed` when there is none; `detail` says why then. Recorded and returned.
Result<protocol::Event> record_run_end(const RuntimeStore& store, const protocol::Request& request,
                                       std::string_view backend, const std::optional<GuestResult>& result,
                                       std::string detail);

}  // namespace microagent::supervisor
