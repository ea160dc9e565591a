#include "protocol/request_options.hpp"

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

}  // namespace microagent::protocol
