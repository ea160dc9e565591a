#pragma once
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace microagent {

// RFC 4648 section 4 (standard alphabet, padded).
std::string base64_encode(std::string_view bytes);
Result<std::string> base64_decode(std::string_view text);
// RFC 4648 section 5 (URL-safe alphabet, no padding): safe on a kernel command line.
std::string base64url_encode(std::string_view bytes);
Result<std::string> base64url_decode(std::string_view text);

}  // namespace microagent
