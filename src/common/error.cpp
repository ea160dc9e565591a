#include "common/error.hpp"

#include <cerrno>
#include <cstring>

namespace microagent {

std::string_view to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::unsupported: return "unsupported";
    case ErrorCode::invalid_request: return "invalid_request";
    case ErrorCode::not_found: return "not_found";
    case ErrorCode::conflict: return "conflict";
    case ErrorCode::host_unavailable: return "host_unavailable";
    case ErrorCode::permission_denied: return "permission_denied";
    case ErrorCode::internal: return "internal";
  }
  return "internal";
}

std::optional<ErrorCode> error_code_from_string(std::string_view text) {
  for (auto code : {ErrorCode::unsupported, ErrorCode::invalid_request, ErrorCode::not_found,
                    ErrorCode::conflict, ErrorCode::host_unavailable, ErrorCode::permission_denied,
                    ErrorCode::internal}) {
    if (to_string(code) == text) return code;
  }
  return std::nullopt;
}

std::unexpected<Error> fail_errno(std::string_view what, int err) {
  ErrorCode code = ErrorCode::internal;
  if (err == EACCES || err == EPERM) code = ErrorCode::permission_denied;
  if (err == ENOENT) code = ErrorCode::not_found;
  return fail(code, std::string(what) + ": " + std::strerror(err));
}

}  // namespace microagent
