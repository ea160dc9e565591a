#include "supervisor/stdio_server.hpp"

#include <iostream>
#include <iterator>

namespace microagent::supervisor {

std::string read_request_from_stdin() {
  return std::string((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
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
