#include "protocol/runtime_id.hpp"

namespace microagent::protocol {

Result<void> validate_runtime_id(std::string_view id) {
  auto bad = [&](std::string why) {
    return fail(ErrorCode::invalid_request, "identity.runtimeID " + why + " (1-63 chars of [a-z0-9][a-z0-9_.-]*)");
  };
  if (id.empty()) return bad("is empty");
  if (id.size() > 63) return bad("is longer than 63 characters");
  auto lower_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_alnum(id.front())) return bad("must start with a lowercase letter or digit");
  for (char c : id) {
    if (!lower_alnum(c) && c != '_' && c != '.' && c != '-') return bad("has a character outside [a-z0-9_.-]");
  }
  return {};
}

Result<RuntimeId> RuntimeId::parse(std::string_view text) {
  if (auto valid = validate_runtime_id(text); !valid) return std::unexpected(valid.error());
  return RuntimeId(std::string(text));
}

}  // namespace microagent::protocol
