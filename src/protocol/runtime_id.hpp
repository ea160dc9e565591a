#pragma once
// A workspace's name (identity.runtimeID), validated where it is made: 1-63
// chars of [a-z0-9][a-z0-9_.-]*, so no "..", "/", NUL or newline, and never
// empty. The only way to name a workspace's directory (RuntimeStore takes one),
// so a name from a user or a request cannot reach outside the state dir.
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace microagent::protocol {

// invalid_request naming what is wrong with `id`, or success.
Result<void> validate_runtime_id(std::string_view id);

class RuntimeId {
 public:
  static Result<RuntimeId> parse(std::string_view text);

  const std::string& str() const { return value_; }
  bool operator==(const RuntimeId&) const = default;

 private:
  explicit RuntimeId(std::string value) : value_(std::move(value)) {}
  std::string value_;
};

}  // namespace microagent::protocol
