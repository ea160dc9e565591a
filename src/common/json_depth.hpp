#pragma once
// nlohmann's parser recurses once per nesting level: text from a guest or a
// client must be checked for depth before it is parsed.
#include <cstddef>
#include <string_view>

namespace microagent {

// True when arrays/objects in `text` nest at most `max_depth` deep (brackets
// inside JSON strings do not count). Linear, no allocation, stops early.
bool json_nesting_within(std::string_view text, std::size_t max_depth);

}  // namespace microagent
