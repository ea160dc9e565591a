#include "supervisor/workspace_records.hpp"

namespace microagent::supervisor {

using protocol::State;

RuntimeStore store_for(const protocol::Request& request) {
  return RuntimeStore(request.config->state_dir, request.identity->runtime_id);
}

Result<protocol::Event> record(const RuntimeStore& store, protocol::Event event) {
  if (auto ok = store.record(event); !ok) return std::unexpected(ok.error());
  return event;
}

std::optional<State> latest_state(const RuntimeStore& store) {
  auto latest = store.latest();
  if (!latest || !*latest) return std::nullopt;
  return (*latest)->state;
}

bool is_active(std::optional<State> state) {
  return state == State::starting || state == State::running || state == State::stopping;
}

Result<std::chrono::seconds> halt_grace(const protocol::Request& request) {
  constexpr std::int64_t kDefault = 2, kMax = 600;
  const auto options = request.raw.find("options");
  if (options == request.raw.end() || !options->is_object()) return std::chrono::seconds(kDefault);
  const auto grace = options->find("graceSeconds");
  if (grace == options->end() || grace->is_null()) return std::chrono::seconds(kDefault);
  // is_number_integer: parsed text is unsigned, a json built in code is signed.
  if (!grace->is_number_integer() || grace->get<std::int64_t>() < 0 || grace->get<std::int64_t>() > kMax) {
    return fail(ErrorCode::invalid_request, "options.graceSeconds must be an integer from 0 to 600");
  }
  return std::chrono::seconds(grace->get<std::int64_t>());
}

}  // namespace microagent::supervisor
