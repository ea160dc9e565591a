#include "supervisor/workspace_records.hpp"

namespace microagent::supervisor {

using protocol::State;

Result<RuntimeStore> store_for(const protocol::Request& request) {
  if (!request.identity || !request.config) return fail(ErrorCode::invalid_request, "identity and config are required");
  auto id = protocol::RuntimeId::parse(request.identity->runtime_id);
  if (!id) return std::unexpected(id.error());
  return RuntimeStore(request.config->state_dir, std::move(*id));
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

}  // namespace microagent::supervisor
