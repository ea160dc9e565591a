#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"

namespace microagent::cli {

int report_error(const GlobalOptions& global, const std::string& code, const std::string& message) {
  if (global.json) {
    std::cout << nlohmann::json{{"ok", false}, {"error", {{"code", code}, {"message", message}}}}.dump() << std::endl;
  } else {
    std::cerr << "microagent: " << message << " [" << code << "]" << std::endl;
  }
  return kExitMicroagentError;
}

}  // namespace microagent::cli
