#pragma once
// The body of every supervisor executable: one JSON request on stdin, one JSON
// response on stdout, exit 0 exactly when the response says ok. Portable: the
// Windows supervisor serves requests through it too.
#include <string>

#include "supervisor/backend.hpp"

namespace microagent::supervisor {

// stdin up to one byte past protocol::kMaxRequestBytes: the request (parse_request refuses a longer one).
std::string read_request_from_stdin();
// Serves `request`, prints the response, returns the exit code. An exception
// escaping a backend becomes an `internal` error response, never a crash.
int answer_request(Backend& backend, const std::string& request);

}  // namespace microagent::supervisor
