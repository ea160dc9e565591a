#pragma once
// Limits a request must meet before any JSON parser sees it: a request is
// hostile input, and nlohmann's parser recurses per nesting level and keeps
// the whole document in memory.
#include <cstddef>
#include <string_view>

#include "common/error.hpp"

namespace microagent::protocol {

inline constexpr std::size_t kMaxRequestBytes = 1024 * 1024;
inline constexpr std::size_t kMaxRequestDepth = 64;

// invalid_request when `text` is larger than kMaxRequestBytes or nests arrays
// and objects deeper than kMaxRequestDepth (brackets inside strings do not count).
Result<void> check_request_bounds(std::string_view text);

}  // namespace microagent::protocol
