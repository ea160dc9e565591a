#include "backends/linux_kvm/qmp_client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include <fmt/core.h>

namespace microagent::linux_kvm {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

// A QEMU that floods events nobody claims must not grow memory without bound.
constexpr std::size_t kMaxQueuedEvents = 1024;
// A line longer than this is not QMP (QEMU's largest replies, query-qmp-schema, are ~200 KB).
constexpr std::size_t kMaxLineBytes = 16 << 20;
// The name under which a capture file descriptor is handed to QEMU (getfd / "fd:NAME").
constexpr const char* kCaptureFdName = "microagent-capture";

int poll_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 60'000));
}

std::string ms_text(std::chrono::milliseconds timeout) { return fmt::format("{} ms", timeout.count()); }

// QMP error classes (qapi/error.json) onto our stable codes.
ErrorCode code_for_class(const std::string& cls) {
  if (cls == "CommandNotFound" || cls == "KVMMissingCap") return ErrorCode::unsupported;
  if (cls == "DeviceNotFound") return ErrorCode::not_found;
  if (cls == "DeviceNotActive") return ErrorCode::conflict;
  return ErrorCode::internal;
}

}  // namespace

Result<QmpClient> QmpClient::connect(const std::filesystem::path& socket, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket.native().size() >= sizeof(addr.sun_path)) {
    return fail(ErrorCode::invalid_request, fmt::format("QMP socket path is too long for a Unix socket: {}", socket.string()));
  }
  std::memcpy(addr.sun_path, socket.c_str(), socket.native().size());
  for (;;) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return fail_errno("socket(AF_UNIX)", errno);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0) {
      QmpClient client(std::move(fd));
      if (auto ok = client.handshake(deadline); !ok) return std::unexpected(ok.error());
      return client;
    }
    const int err = errno;
    // QEMU creates and listens on the socket shortly after it starts: retry until the deadline.
    if ((err != ENOENT && err != ECONNREFUSED) || Clock::now() >= deadline) {
      return fail(ErrorCode::host_unavailable, fmt::format("cannot connect to QMP socket {} within {}: {}",
                                                           socket.string(), ms_text(timeout), std::strerror(err)));
    }
    std::this_thread::sleep_for(10ms);
  }
}

Result<QmpClient> QmpClient::adopt(UniqueFd fd, std::chrono::milliseconds timeout) {
  QmpClient client(std::move(fd));
  if (auto ok = client.handshake(Clock::now() + timeout); !ok) return std::unexpected(ok.error());
  return client;
}

Result<void> QmpClient::handshake(Clock::time_point deadline) {
  // Greeting: {"QMP":{"version":...,"capabilities":[...]}}; events cannot precede it.
  auto greeting = read_message(deadline, "the QMP greeting");
  if (!greeting) return std::unexpected(greeting.error());
  if (!greeting->contains("QMP")) {
    return fail(ErrorCode::internal, fmt::format("QMP greeting expected, got: {}", greeting->dump()));
  }
  // Capabilities negotiation mode accepts only qmp_capabilities; we enable no optional capability.
  const std::uint64_t id = next_id_++;
  json request{{"execute", "qmp_capabilities"}, {"id", id}};
  if (auto sent = send_line(request.dump() + "\n", -1, deadline); !sent) return std::unexpected(sent.error());
  auto reply = await_reply("qmp_capabilities", id, deadline);
  if (!reply) return std::unexpected(reply.error());
  return {};
}

Result<json> QmpClient::execute(const std::string& name, const json& arguments, std::chrono::milliseconds timeout) {
  return execute_with_fd(name, arguments, -1, timeout);
}

Result<json> QmpClient::execute_with_fd(const std::string& name, const json& arguments, int fd,
                                        std::chrono::milliseconds timeout) {
  if (!fd_) return fail(ErrorCode::host_unavailable, fmt::format("QMP {}: the connection to QEMU is closed", name));
  const auto deadline = Clock::now() + timeout;
  const std::uint64_t id = next_id_++;
  json request{{"execute", name}, {"id", id}};
  if (!arguments.is_null() && !(arguments.is_object() && arguments.empty())) request["arguments"] = arguments;
  if (auto sent = send_line(request.dump() + "\n", fd, deadline); !sent) return std::unexpected(sent.error());
  return await_reply(name, id, deadline);
}

Result<json> QmpClient::await_reply(const std::string& name, std::uint64_t id, Clock::time_point deadline) {
  const std::string what = fmt::format("the reply to QMP {}", name);
  for (;;) {
    auto message = read_message(deadline, what);
    if (!message && message.error().code == ErrorCode::host_unavailable) {
      return fail(ErrorCode::host_unavailable, fmt::format("QMP {}: {}", name, message.error().message));
    }
    if (!message) return std::unexpected(message.error());
    if (message->contains("event")) {
      queue_event(std::move(*message));
      continue;
    }
    // A reply to an earlier command that timed out: not ours, drop it.
    if (!message->contains("id") || (*message)["id"] != id) continue;
    if (auto it = message->find("return"); it != message->end()) return std::move(*it);
    if (auto it = message->find("error"); it != message->end() && it->is_object()) {
      const std::string cls = it->value("class", std::string("GenericError"));
      const std::string desc = it->value("desc", std::string("(no description)"));
      return fail(code_for_class(cls), fmt::format("QMP {} failed: {}", name, desc));
    }
    return fail(ErrorCode::internal, fmt::format("QMP {}: unexpected reply {}", name, message->dump()));
  }
}

Result<json> QmpClient::wait_event(const std::string& name, std::chrono::milliseconds timeout) {
  for (auto it = events_.begin(); it != events_.end(); ++it) {
    if ((*it)["event"] == name) {
      json event = std::move(*it);
      events_.erase(it);
      return event;
    }
  }
  if (!fd_) return fail(ErrorCode::host_unavailable, fmt::format("waiting for QMP event {}: the connection is closed", name));
  const auto deadline = Clock::now() + timeout;
  const std::string what = fmt::format("QMP event {}", name);
  for (;;) {
    auto message = read_message(deadline, what);
    if (!message) return std::unexpected(message.error());
    if (!message->contains("event")) continue;  // a late reply to a timed-out command
    if ((*message)["event"] == name) return std::move(*message);
    queue_event(std::move(*message));
  }
}

void QmpClient::queue_event(json event) {
  if (events_.size() >= kMaxQueuedEvents) events_.pop_front();
  events_.push_back(std::move(event));
}

Result<void> QmpClient::send_line(const std::string& line, int fd_to_pass, Clock::time_point deadline) {
  std::size_t off = 0;
  while (off < line.size()) {
    pollfd pfd{fd_.get(), POLLOUT, 0};
    const int ready = ::poll(&pfd, 1, poll_ms(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return fail_errno("poll(QMP socket)", errno);
    if (ready == 0) return fail(ErrorCode::internal, "timed out sending a QMP command (QEMU is not reading its monitor)");
    msghdr msg{};
    iovec iov{const_cast<char*>(line.data() + off), line.size() - off};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    // The descriptor rides with the first bytes of the command; QEMU attaches it to that command.
    if (fd_to_pass >= 0 && off == 0) {
      msg.msg_control = control;
      msg.msg_controllen = sizeof(control);
      cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
      cmsg->cmsg_level = SOL_SOCKET;
      cmsg->cmsg_type = SCM_RIGHTS;
      cmsg->cmsg_len = CMSG_LEN(sizeof(int));
      std::memcpy(CMSG_DATA(cmsg), &fd_to_pass, sizeof(int));
    }
    const ssize_t n = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) {
      const int err = errno;
      fd_.reset();
      return fail(ErrorCode::host_unavailable, fmt::format("QEMU closed the QMP connection: {}", std::strerror(err)));
    }
    off += static_cast<std::size_t>(n);
  }
  return {};
}

Result<json> QmpClient::read_message(Clock::time_point deadline, const std::string& what) {
  for (;;) {
    if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      json message = json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (message.is_discarded() || !message.is_object()) {
        return fail(ErrorCode::internal, fmt::format("QMP peer sent something that is not a JSON object: {}",
                                                     line.substr(0, 200)));
      }
      return message;
    }
    if (buffer_.size() > kMaxLineBytes) {
      return fail(ErrorCode::internal, "QMP peer sent a line longer than 16 MiB: not QMP");
    }
    if (!fd_) return fail(ErrorCode::host_unavailable, "QEMU closed the QMP connection");
    pollfd pfd{fd_.get(), POLLIN, 0};
    const int ready = ::poll(&pfd, 1, poll_ms(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return fail_errno("poll(QMP socket)", errno);
    if (ready == 0) {
      if (Clock::now() < deadline) continue;  // poll_ms caps long waits
      return fail(ErrorCode::internal, fmt::format("timed out waiting for {}", what));
    }
    char chunk[65536];
    const ssize_t n = ::recv(fd_.get(), chunk, sizeof(chunk), MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      const std::string why = n == 0 ? "end of stream" : std::strerror(errno);
      fd_.reset();
      return fail(ErrorCode::host_unavailable, fmt::format("QEMU closed the QMP connection ({})", why));
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

Result<void> qmp_system_powerdown(QmpClient& qmp) {
  auto r = qmp.execute("system_powerdown");
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<void> qmp_quit(QmpClient& qmp) {
  auto r = qmp.execute("quit");
  // QEMU may exit before its reply is read: a closed connection is the outcome we asked for.
  if (!r && r.error().code != ErrorCode::host_unavailable) return std::unexpected(r.error());
  return {};
}

Result<std::string> qmp_query_status(QmpClient& qmp) {
  auto r = qmp.execute("query-status");
  if (!r) return std::unexpected(r.error());
  if (!r->is_object() || !(*r)["status"].is_string()) {
    return fail(ErrorCode::internal, fmt::format("QMP query-status: no status in {}", r->dump()));
  }
  return (*r)["status"].get<std::string>();
}

std::string_view to_string(GuestCapture::Method method) {
  return method == GuestCapture::Method::migration_stream ? "migration-stream" : "memory-dump";
}

namespace {

std::chrono::milliseconds left_of(Clock::time_point deadline) {
  return std::max(0ms, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
}

// Hands `file` to QEMU under kCaptureFdName; QEMU owns its copy from then on.
Result<void> pass_capture_fd(QmpClient& qmp, int fd, Clock::time_point deadline) {
  auto r = qmp.execute_with_fd("getfd", {{"fdname", kCaptureFdName}}, fd, left_of(deadline));
  if (!r) return std::unexpected(r.error());
  return {};
}

// Polls a query command until its "status" leaves the in-progress states.
Result<json> poll_until_done(QmpClient& qmp, const std::string& query, Clock::time_point deadline) {
  for (;;) {
    auto r = qmp.execute(query, json::object(), std::max(left_of(deadline), 1000ms));
    if (!r) return r;
    const std::string status = r->value("status", std::string());
    if (status == "completed" || status == "failed" || status == "cancelled") return r;
    if (Clock::now() >= deadline) {
      return fail(ErrorCode::internal, fmt::format("{} still reports '{}' at the deadline", query, status));
    }
    std::this_thread::sleep_for(20ms);
  }
}

// Empty on success; QEMU's reason when it refuses to start migrating (a migration blocker).
Result<std::string> capture_with_migration(QmpClient& qmp, int fd, Clock::time_point deadline) {
  if (auto ok = pass_capture_fd(qmp, fd, deadline); !ok) return std::unexpected(ok.error());
  auto started = qmp.execute("migrate", {{"uri", fmt::format("fd:{}", kCaptureFdName)}}, left_of(deadline));
  if (!started && started.error().code == ErrorCode::internal && started.error().message.starts_with("QMP migrate failed")) {
    (void)qmp.execute("closefd", {{"fdname", kCaptureFdName}}, 1000ms);  // still registered when refused up front
    return started.error().message;
  }
  if (!started) return std::unexpected(started.error());
  auto done = poll_until_done(qmp, "query-migrate", deadline);
  if (!done || done->value("status", std::string()) != "completed") {
    (void)qmp.execute("migrate_cancel", json::object(), 2000ms);
    if (!done) return std::unexpected(done.error());
    return fail(ErrorCode::internal, fmt::format("migration to the capture file {}: {}", done->value("status", std::string()),
                                                 done->value("error-desc", std::string("no detail"))));
  }
  return std::string();
}

Result<void> capture_with_dump(QmpClient& qmp, int fd, Clock::time_point deadline) {
  if (auto ok = pass_capture_fd(qmp, fd, deadline); !ok) return ok;
  // QEMU 7.2 qapi/dump.json: paging, protocol ("file:PATH" | "fd:NAME"), detach; ELF format by default.
  json args{{"paging", false}, {"protocol", fmt::format("fd:{}", kCaptureFdName)}, {"detach", true}};
  if (auto started = qmp.execute("dump-guest-memory", args, left_of(deadline)); !started) {
    return std::unexpected(started.error());
  }
  auto done = poll_until_done(qmp, "query-dump", deadline);
  if (!done) return std::unexpected(done.error());
  if (done->value("status", std::string()) != "completed") {
    return fail(ErrorCode::internal, fmt::format("dump-guest-memory ended with status {}", done->value("status", std::string())));
  }
  return {};
}

}  // namespace

Result<GuestCapture> qmp_capture_migration_stream(QmpClient& qmp, const std::filesystem::path& file,
                                                  std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  UniqueFd out(::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!out) return fail_errno(fmt::format("open capture file {}", file.string()), errno);
  auto abandon = [&](Error error) -> Result<GuestCapture> {
    std::error_code ec;
    std::filesystem::remove(file, ec);
    return std::unexpected(std::move(error));
  };
  if (auto stopped = qmp.execute("stop", json::object(), left_of(deadline)); !stopped) return abandon(stopped.error());

  GuestCapture capture{GuestCapture::Method::migration_stream, file, 0, {}};
  auto migrated = capture_with_migration(qmp, out.get(), deadline);
  if (!migrated) return abandon(migrated.error());
  // Only a refusal up front (a migration blocker such as vhost-user-vsock) falls back to a dump;
  // a migration that started and then failed or timed out is a failure.
  if (!migrated->empty()) {
    capture.method = GuestCapture::Method::memory_dump;
    capture.migration_refusal = *migrated;
    if (::ftruncate(out.get(), 0) != 0 || ::lseek(out.get(), 0, SEEK_SET) != 0) {
      return abandon(Error{ErrorCode::internal, fmt::format("cannot rewind capture file {}", file.string())});
    }
    if (auto dumped = capture_with_dump(qmp, out.get(), deadline); !dumped) {
      Error error = dumped.error();
      error.message = fmt::format("{} (after {})", error.message, capture.migration_refusal);
      return abandon(std::move(error));
    }
  }
  struct stat st{};
  if (::fstat(out.get(), &st) != 0) return abandon(Error{ErrorCode::internal, "fstat capture file failed"});
  capture.bytes = static_cast<std::uint64_t>(st.st_size);
  return capture;
}

}  // namespace microagent::linux_kvm
