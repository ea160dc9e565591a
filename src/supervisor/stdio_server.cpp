#include "supervisor/stdio_server.hpp"

#include <iostream>

#include "protocol/request_bounds.hpp"

namespace microagent::supervisor {

std::string read_request_from_stdin() {
  // One byte past the limit is enough for parse_request to refuse it: never
  // hold more of a hostile request than that.
  std::string request(protocol::kMaxRequestBytes + 1, '\0');
  std::cin.read(request.data(), static_cast<std::streamsize>(request.size()));
  request.resize(static_cast<std::size_t>(std::cin.gcount()));
  return request;
}

int answer_request(Backend& backend, const std::string& request) {
  Response response;
  try {
    response = serve_request(backend, request);
  } catch (const std::exception& e) {
    response.body = {{"ok", false},
                     {"backend", std::string(backend.name())},
                     {"error", {{"code", "internal"}, {"message", std::string("unexpected failure: ") + e.what()}}}};
    response.exit_code = 1;
  }
  std::cout << response.body.dump() << std::endl;
  return response.exit_code;
}

}  // namespace microagent::supervisor
