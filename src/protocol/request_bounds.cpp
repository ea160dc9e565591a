#include "protocol/request_bounds.hpp"

#include <fmt/core.h>

#include "common/json_depth.hpp"

namespace microagent::protocol {

Result<void> check_request_bounds(std::string_view text) {
  if (text.size() > kMaxRequestBytes) {
    return fail(ErrorCode::invalid_request, fmt::format("request is larger than {} bytes", kMaxRequestBytes));
  }
  if (!json_nesting_within(text, kMaxRequestDepth)) {
    return fail(ErrorCode::invalid_request, fmt::format("request nests deeper than {} levels", kMaxRequestDepth));
  }
  return {};
}

}  // namespace microagent::protocol
