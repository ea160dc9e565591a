#include "supervisor/run_end.hpp"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "supervisor/event_factory.hpp"

namespace microagent::supervisor {

std::string guest_result_detail(const GuestResult& result) {
  if (!result.error.empty()) return "guest could not run the workload: " + result.error;
  if (result.signal) return fmt::format("workload killed by signal {}", *result.signal);
  return fmt::format("workload exited with code {}", result.exit_code.value_or(-1));
}

Result<protocol::Event> record_run_end(const RuntimeStore& store, const protocol::Request& request,
                                       std::string_view backend, const std::optional<GuestResult>& result,
                                       std::string detail) {
  protocol::Event event =
      event_for(request, backend, result ? protocol::State::stopped : protocol::State::failed, std::move(detail));
  if (result) {
    auto result_json = nlohmann::json::parse(guest_result_to_json(*result));
    if (auto ok = store.write_result(result_json); !ok) return std::unexpected(ok.error());
    event.result = result_json;
  }
  if (auto ok = store.record(event); !ok) return std::unexpected(ok.error());
  return event;
}

}  // namespace microagent::supervisor
