#include "cli/supervisor_client.hpp"

#include <algorithm>
#include <cctype>

namespace microagent::cli {

std::string supervisor_program(const std::string& backend) { return "microagent-" + backend + "-supervisor"; }

std::string supervisor_env_name(const std::string& backend) {
  std::string name = "MICROAGENT_" + backend + "_SUPERVISOR";
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return c == '-' ? '_' : static_cast<char>(std::toupper(c)); });
  return name;
}

Result<nlohmann::json> parse_supervisor_response(const std::filesystem::path& supervisor, const std::string& out,
                                                 const std::string& how_it_ended) {
  auto response = nlohmann::json::parse(out, nullptr, false);
  if (response.is_discarded() || !response.is_object() || !response.contains("ok") || !response["ok"].is_boolean()) {
    return fail(ErrorCode::internal, "supervisor " + supervisor.string() + " gave no JSON response (" + how_it_ended + ")");
  }
  return response;
}

Error response_error(const nlohmann::json& response) {
  Error error{ErrorCode::internal, "supervisor failed without a message"};
  if (response.contains("error") && response["error"].is_object()) {
    const auto& e = response["error"];
    if (e.contains("code") && e["code"].is_string()) {
      error.code = error_code_from_string(e["code"].get<std::string>()).value_or(ErrorCode::internal);
    }
    if (e.contains("message") && e["message"].is_string()) error.message = e["message"].get<std::string>();
  }
  return error;
}

}  // namespace microagent::cli
