#include "common/connect_session.hpp"

#include <atomic>
#include <mutex>
#include <thread>

namespace microagent {

namespace wire = connect_wire;
using namespace std::chrono_literals;

namespace {

// Pumps local input into frames on its own thread (console reads block; the
// guest's output must keep flowing meanwhile). Stopped and joined when the
// session ends, whichever way: next() waits at most 100 ms, so the join is quick.
class InputPump {
 public:
  InputPump(GuestStream& stream, ConnectInputSource& input) : stream_(stream), input_(input) {
    thread_ = std::thread([this] { pump(); });
  }
  ~InputPump() {
    stop_ = true;
    thread_.join();
  }
  InputPump(const InputPump&) = delete;
  InputPump& operator=(const InputPump&) = delete;

 private:
  void pump() {
    while (!stop_) {
      auto item = input_.next(100ms);
      if (!item) continue;
      std::string frame;
      switch (item->kind) {
        case ConnectInput::Kind::bytes:
          if (item->bytes.empty()) continue;
          frame = wire::encode_frame(wire::FrameType::stdin_data, item->bytes);
          break;
        case ConnectInput::Kind::resize:
          frame = wire::encode_frame(wire::FrameType::resize, wire::encode_resize(item->size));
          break;
        case ConnectInput::Kind::end:
          frame = wire::encode_frame(wire::FrameType::stdin_eof, {});
          break;
      }
      // A failed send means the stream is gone; the receiving side reports it.
      if (!stream_.send(frame) || item->kind == ConnectInput::Kind::end) return;
    }
  }

  GuestStream& stream_;
  ConnectInputSource& input_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

Result<ConnectSessionResult> run_connect_session(GuestStream& stream, const wire::ConnectRequest& request,
                                                 ConnectInputSource* input, ConnectOutput& output) {
  if (auto ok = stream.send(wire::connect_request_to_line(request)); !ok) return std::unexpected(ok.error());
  if (!input) {
    if (auto ok = stream.send(wire::encode_frame(wire::FrameType::stdin_eof, {})); !ok) return std::unexpected(ok.error());
  }
  std::optional<InputPump> pump;
  if (input) pump.emplace(stream, *input);

  ConnectSessionResult result;
  std::string inbound;
  while (true) {
    auto bytes = stream.receive();
    if (!bytes) return std::unexpected(bytes.error());
    if (bytes->empty()) {
      return fail(ErrorCode::host_unavailable,
                  "the guest closed the connect session before sending the command's exit status" +
                      (result.errors.empty() ? std::string() : " (" + result.errors + ")"));
    }
    inbound += *bytes;
    while (true) {
      auto frame = wire::take_frame(inbound);
      if (!frame) return std::unexpected(frame.error());
      if (!*frame) break;
      const auto& [type, payload] = **frame;
      switch (type) {
        case wire::FrameType::stdout_data:
          output.write_stdout(payload);
          break;
        case wire::FrameType::stderr_data:
          output.write_stderr(payload);
          break;
        case wire::FrameType::error:
          result.errors += (result.errors.empty() ? "" : "; ") + payload;
          output.write_stderr("microagent: " + payload + (request.tty ? "\r\n" : "\n"));
          break;
        case wire::FrameType::exit: {
          auto status = wire::decode_exit(payload);
          if (!status) return std::unexpected(status.error());
          result.exit_code = status->as_exit_code();
          return result;
        }
        default:
          return fail(ErrorCode::invalid_request, "the guest sent a " + std::string(wire::to_string(type)) +
                                                      " frame, which only the host may send");
      }
    }
  }
}

}  // namespace microagent
