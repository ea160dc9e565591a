#pragma once
// Errors travel as values: every fallible library call returns Result<T>.
// The codes are the stable protocol codes of DESIGN.md section 2.
#include <expected>
#include <optional>
#include <string>
#include <string_view>

namespace microagent {

enum class ErrorCode {
  unsupported,
  invalid_request,
  not_found,
  conflict,
  host_unavailable,
  permission_denied,
  internal,
};

std::string_view to_string(ErrorCode code);
std::optional<ErrorCode> error_code_from_string(std::string_view text);

struct Error {
  ErrorCode code = ErrorCode::internal;
  std::string message;
};

template <class T>
using Result = std::expected<T, Error>;

// Shorthand for the failure branch: `return fail(ErrorCode::not_found, "...");`
inline std::unexpected<Error> fail(ErrorCode code, std::string message) {
  return std::unexpected<Error>(Error{code, std::move(message)});
}

// Builds an internal error message from errno: "<what>: <strerror>".
std::unexpected<Error> fail_errno(std::string_view what, int err);

}  // namespace microagent
