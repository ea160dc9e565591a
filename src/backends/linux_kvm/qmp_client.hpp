#pragma once
// The driver that talks to a running QEMU over QMP (docs/interop/qmp-spec.txt
// in QEMU): one JSON object per line on the `-qmp unix:<sock>,server=on,wait=off`
// socket. Commands carry an "id" so a late reply to a command that timed out
// is recognised and dropped; asynchronous events that arrive while a command
// waits are queued for wait_event(). Single-threaded: one caller at a time.
#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace microagent::linux_kvm {

class QmpClient {
 public:
  // Connects (retrying while QEMU has not created the socket yet), reads the
  // greeting, negotiates capabilities. Bounded by `timeout` overall.
  static Result<QmpClient> connect(const std::filesystem::path& socket, std::chrono::milliseconds timeout);
  // Wraps an already connected stream socket (tests, socketpair); same handshake.
  static Result<QmpClient> adopt(UniqueFd fd, std::chrono::milliseconds timeout);

  // Sends {"execute":name,"arguments":args} and returns its "return" value, or
  // an Error whose message carries QMP's "error.desc".
  Result<nlohmann::json> execute(const std::string& name, const nlohmann::json& arguments = nlohmann::json::object(),
                                 std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Same, passing `fd` to QEMU with the command (SCM_RIGHTS); used by `getfd`.
  Result<nlohmann::json> execute_with_fd(const std::string& name, const nlohmann::json& arguments, int fd,
                                         std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Returns the first event named `name`, queued or still to come; other events stay queued.
  Result<nlohmann::json> wait_event(const std::string& name, std::chrono::milliseconds timeout);
  // Events received but not yet claimed by wait_event (oldest first).
  const std::deque<nlohmann::json>& pending_events() const { return events_; }

 private:
  using Clock = std::chrono::steady_clock;
  explicit QmpClient(UniqueFd fd) : fd_(std::move(fd)) {}
  Result<void> handshake(Clock::time_point deadline);
  Result<void> send_line(const std::string& line, int fd_to_pass, Clock::time_point deadline);
  // Next complete message; `what` names the wait in a timeout error.
  Result<nlohmann::json> read_message(Clock::time_point deadline, const std::string& what);
  Result<nlohmann::json> await_reply(const std::string& name, std::uint64_t id, Clock::time_point deadline);
  void queue_event(nlohmann::json event);

  UniqueFd fd_;
  std::string buffer_;  // bytes received past the last complete line
  std::deque<nlohmann::json> events_;
  std::uint64_t next_id_ = 1;
};

// Convenience operations used by halt, stop and quarantine.
// ACPI power button. On `microvm` it reaches the guest through the ACPI GED device.
Result<void> qmp_system_powerdown(QmpClient& qmp);
// Asks QEMU to exit; a connection closed before the reply counts as success.
Result<void> qmp_quit(QmpClient& qmp);
// query-status "status": "running", "paused", "postmigrate", "shutdown", ...
Result<std::string> qmp_query_status(QmpClient& qmp);

// Evidence for quarantine: the guest's state written to a file while the VM is paused.
struct GuestCapture {
  enum class Method { migration_stream, memory_dump };
  Method method = Method::migration_stream;
  std::filesystem::path path;
  std::uint64_t bytes = 0;
  std::string migration_refusal;  // QEMU's reason when migration was refused and the dump was used
};
std::string_view to_string(GuestCapture::Method method);

// Pauses the guest (`stop`) and writes its migration stream to `file` through a
// descriptor passed with `getfd` (no shell, any path). When QEMU refuses to
// migrate (a device such as vhost-user-vsock blocks it), falls back to an ELF
// `dump-guest-memory` of guest RAM. Waits for completion, bounded by `timeout`;
// the VM is left paused either way. On failure the file is removed.
Result<GuestCapture> qmp_capture_migration_stream(QmpClient& qmp, const std::filesystem::path& file,
                                                  std::chrono::milliseconds timeout);

}  // namespace microagent::linux_kvm
