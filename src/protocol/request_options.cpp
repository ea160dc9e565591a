#include "protocol/request_options.hpp"

#include <filesystem>

#include "protocol/field_reader.hpp"

namespace microagent::protocol {

using nlohmann::json;

Result<RequestOptions> options_from_json(const json& j) {
  RequestOptions options;
  FieldReader top(j, "");
  top.read("verify", options.verify);
  if (top.has("input")) {
    std::string input;
    top.read("input", input);
    options.console_input = std::move(input);
  }
  if (const json* o = top.object("options")) {
    FieldReader reader(*o, "options");
    reader.read("noCapture", options.no_capture);
    if (reader.has("graceSeconds")) {
      // is_number_integer: parsed text is unsigned, a json built in code is signed.
      const json& grace = o->at("graceSeconds");
      if (!grace.is_number_integer() || grace.get<std::int64_t>() < 0 || grace.get<std::int64_t>() > 600) {
        return fail(ErrorCode::invalid_request, "options.graceSeconds must be an integer from 0 to 600");
      }
      options.grace_seconds = grace.get<std::int64_t>();
    }
    if (!reader.ok()) return std::unexpected(reader.first_error());
  }
  if (!top.ok()) return std::unexpected(top.first_error());
  return options;
}

Result<std::optional<std::string>> host_state_dir_from_json(const json& j) {
  auto it = j.find("stateDir");
  if (it == j.end() || it->is_null()) return std::optional<std::string>();
  const json& value = *it;
  if (!value.is_string()) return fail(ErrorCode::invalid_request, "stateDir must be a string");
  std::string dir = value.get<std::string>();
#ifdef _WIN32
  // A Windows host's state dir: "C:\\...", "\\\\server\\share\\...".
  const bool absolute = !dir.empty() && std::filesystem::path(dir).is_absolute();
#else
  const bool absolute = !dir.empty() && dir.front() == '/';
#endif
  if (!absolute || dir.find('\0') != std::string::npos) {
    return fail(ErrorCode::invalid_request, "stateDir must be an absolute path");
  }
  return std::optional<std::string>(std::move(dir));
}

}  // namespace microagent::protocol
