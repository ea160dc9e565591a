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

int report(const GlobalOptions& global, const Error& error) {
  return report_error(global, std::string(to_string(error.code)), error.message);
}

}  // namespace microagent::cli
