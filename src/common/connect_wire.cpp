#include "common/connect_wire.hpp"

#include <limits>
#include <nlohmann/json.hpp>

namespace microagent::connect_wire {
namespace {

using nlohmann::json;

bool known_type(std::uint8_t type) {
  switch (static_cast<FrameType>(type)) {
    case FrameType::stdin_data:
    case FrameType::stdin_eof:
    case FrameType::resize:
    case FrameType::signal:
    case FrameType::stdout_data:
    case FrameType::stderr_data:
    case FrameType::exit:
    case FrameType::error:
      return true;
  }
  return false;
}

std::uint16_t read_u16(std::string_view bytes) {
  return static_cast<std::uint16_t>((static_cast<unsigned char>(bytes[0]) << 8) | static_cast<unsigned char>(bytes[1]));
}

void append_u16(std::string& out, std::uint16_t value) {
  out.push_back(static_cast<char>(value >> 8));
  out.push_back(static_cast<char>(value & 0xff));
}

std::unexpected<Error> bad_request(std::string_view why) {
  return fail(ErrorCode::invalid_request, "connect request: " + std::string(why));
}

}  // namespace

std::string_view to_string(FrameType type) {
  switch (type) {
    case FrameType::stdin_data: return "stdin";
    case FrameType::stdin_eof: return "stdin_eof";
    case FrameType::resize: return "resize";
    case FrameType::signal: return "signal";
    case FrameType::stdout_data: return "stdout";
    case FrameType::stderr_data: return "stderr";
    case FrameType::exit: return "exit";
    case FrameType::error: return "error";
  }
  return "unknown";
}

std::string encode_frame(FrameType type, std::string_view payload) {
  const auto length = static_cast<std::uint32_t>(payload.size());
  std::string out;
  out.reserve(kFrameHeaderSize + payload.size());
  out.push_back(static_cast<char>(type));
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((length >> shift) & 0xff));
  out.append(payload);
  return out;
}

Result<std::optional<Frame>> take_frame(std::string& buffer) {
  if (buffer.empty()) return std::nullopt;
  const auto type = static_cast<std::uint8_t>(buffer[0]);
  // Reject an unknown type as soon as its byte arrives, not after a whole header.
  if (!known_type(type)) {
    return fail(ErrorCode::invalid_request, "connect stream: unknown frame type " + std::to_string(type));
  }
  if (buffer.size() < kFrameHeaderSize) return std::nullopt;
  std::uint32_t length = 0;
  for (std::size_t i = 1; i < kFrameHeaderSize; ++i) length = (length << 8) | static_cast<unsigned char>(buffer[i]);
  if (length > kMaxFramePayload) {
    return fail(ErrorCode::invalid_request, "connect stream: frame of " + std::to_string(length) +
                                                " bytes exceeds the limit of " + std::to_string(kMaxFramePayload));
  }
  if (buffer.size() < kFrameHeaderSize + length) return std::nullopt;
  Frame frame{static_cast<FrameType>(type), buffer.substr(kFrameHeaderSize, length)};
  buffer.erase(0, kFrameHeaderSize + length);
  return frame;
}

std::string encode_resize(WindowSize size) {
  std::string out;
  append_u16(out, size.rows);
  append_u16(out, size.cols);
  return out;
}

Result<WindowSize> decode_resize(std::string_view payload) {
  if (payload.size() != 4) return fail(ErrorCode::invalid_request, "resize frame: payload must be 4 bytes");
  return WindowSize{read_u16(payload), read_u16(payload.substr(2))};
}

std::string encode_signal(int signo) { return std::string(1, static_cast<char>(signo & 0xff)); }

Result<int> decode_signal(std::string_view payload) {
  if (payload.size() != 1) return fail(ErrorCode::invalid_request, "signal frame: payload must be 1 byte");
  const int signo = static_cast<unsigned char>(payload[0]);
  if (signo < 1 || signo > 64) {
    return fail(ErrorCode::invalid_request, "signal frame: no signal " + std::to_string(signo));
  }
  return signo;
}

std::string encode_exit(const ExitStatus& status) {
  if (status.signal) return json{{"signal", *status.signal}}.dump();
  return json{{"exitCode", status.exit_code.value_or(0)}}.dump();
}

Result<ExitStatus> decode_exit(std::string_view payload) {
  json doc = json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return fail(ErrorCode::invalid_request, "exit frame: not a JSON object");
  ExitStatus status;
  auto read = [&](const char* key, std::optional<int>& out) -> bool {
    auto it = doc.find(key);
    if (it == doc.end() || it->is_null()) return true;
    if (!it->is_number_integer()) return false;
    const auto value = it->get<std::int64_t>();
    if (value < 0 || value > 255) return false;
    out = static_cast<int>(value);
    return true;
  };
  if (!read("exitCode", status.exit_code) || !read("signal", status.signal)) {
    return fail(ErrorCode::invalid_request, "exit frame: exitCode/signal must be integers 0-255");
  }
  if (status.exit_code.has_value() == status.signal.has_value()) {
    return fail(ErrorCode::invalid_request, "exit frame: exactly one of exitCode and signal is required");
  }
  return status;
}

std::string connect_request_to_line(const ConnectRequest& request) {
  json doc = {{"tty", request.tty},   {"command", request.command}, {"env", request.env},
              {"rows", request.size.rows}, {"cols", request.size.cols}, {"workdir", request.workdir}};
  if (!request.user.empty()) doc["user"] = request.user;
  // replace: a local argument or variable may not be valid UTF-8; never throw for it.
  return doc.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<ConnectRequest> connect_request_from_line(std::string_view line) {
  if (line.size() > kMaxRequestLine) return bad_request("longer than " + std::to_string(kMaxRequestLine) + " bytes");
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  json doc = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return bad_request("not valid JSON");
  if (!doc.is_object()) return bad_request("not a JSON object");
  ConnectRequest request;
  if (auto it = doc.find("tty"); it != doc.end() && !it->is_null()) {
    if (!it->is_boolean()) return bad_request("\"tty\" must be a boolean");
    request.tty = it->get<bool>();
  }
  if (auto it = doc.find("command"); it != doc.end() && !it->is_null()) {
    if (!it->is_array()) return bad_request("\"command\" must be an array of strings");
    for (const auto& arg : *it) {
      if (!arg.is_string()) return bad_request("\"command\" must be an array of strings");
      request.command.push_back(arg.get<std::string>());
    }
    if (!request.command.empty() && request.command.front().empty()) return bad_request("\"command\"[0] is empty");
  }
  if (auto it = doc.find("env"); it != doc.end() && !it->is_null()) {
    if (!it->is_object()) return bad_request("\"env\" must be an object of strings");
    for (const auto& [key, value] : it->items()) {
      if (!value.is_string()) return bad_request("\"env\" must be an object of strings");
      if (key.empty() || key.find('=') != std::string::npos) return bad_request("\"env\" names must not contain '='");
      request.env[key] = value.get<std::string>();
    }
  }
  for (auto [key, out] : {std::pair{"rows", &request.size.rows}, std::pair{"cols", &request.size.cols}}) {
    auto it = doc.find(key);
    if (it == doc.end() || it->is_null()) continue;
    if (!it->is_number_unsigned() || it->get<std::uint64_t>() > std::numeric_limits<std::uint16_t>::max()) {
      return bad_request(std::string("\"") + key + "\" must be an integer 0-65535");
    }
    *out = static_cast<std::uint16_t>(it->get<std::uint64_t>());
  }
  if (auto it = doc.find("workdir"); it != doc.end() && !it->is_null()) {
    if (!it->is_string()) return bad_request("\"workdir\" must be a string");
    request.workdir = it->get<std::string>();
  }
  if (request.workdir.empty()) request.workdir = "/";
  if (auto it = doc.find("user"); it != doc.end() && !it->is_null()) {
    if (!it->is_string()) return bad_request("\"user\" must be a string");
    request.user = it->get<std::string>();
  }
  return request;
}

}  // namespace microagent::connect_wire
