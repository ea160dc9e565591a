#include "backends/linux_kvm/qmp_client.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <thread>

namespace microagent::linux_kvm {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

const json kGreeting = json::parse(R"({"QMP":{"version":{"qemu":{"micro":22,"minor":2,"major":7}},"capabilities":["oob"]}})");

// A QMP server on one end of a socketpair. `handler` answers each request (it
// also receives a descriptor passed with the request, or -1); the default
// handler answers qmp_capabilities only, so a test's handler sees the rest.
class FakeQmp {
 public:
  using Handler = std::function<void(FakeQmp&, const json& request, int passed_fd)>;

  explicit FakeQmp(Handler handler, bool greet = true) : handler_(std::move(handler)) {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    server_.reset(fds[0]);
    client_.reset(fds[1]);
    if (greet) send(kGreeting);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeQmp() {
    ::shutdown(server_.get(), SHUT_RDWR);
    thread_.join();
  }

  UniqueFd take_client() { return std::move(client_); }
  void send(const json& message) { send_raw(message.dump() + "\r\n"); }
  void send_raw(const std::string& bytes) { (void)!::send(server_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL); }
  void reply(const json& request, const json& value) { send({{"return", value}, {"id", request["id"]}}); }
  void hang_up() { ::shutdown(server_.get(), SHUT_RDWR); }
  std::vector<std::string> commands() {
    std::lock_guard lock(mutex_);
    return commands_;
  }

 private:
  void serve() {
    std::string buffer;
    for (;;) {
      char data[4096];
      iovec iov{data, sizeof(data)};
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof(control);
      const ssize_t n = ::recvmsg(server_.get(), &msg, MSG_CMSG_CLOEXEC);
      if (n <= 0) return;
      if (cmsghdr* c = CMSG_FIRSTHDR(&msg); c && c->cmsg_type == SCM_RIGHTS) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c), sizeof(int));
        pending_fd_.reset(fd);
      }
      buffer.append(data, static_cast<std::size_t>(n));
      for (auto nl = buffer.find('\n'); nl != std::string::npos; nl = buffer.find('\n')) {
        json request = json::parse(buffer.substr(0, nl));
        buffer.erase(0, nl + 1);
        const std::string name = request["execute"];
        {
          std::lock_guard lock(mutex_);
          commands_.push_back(name);
        }
        UniqueFd fd = std::move(pending_fd_);
        if (name == "qmp_capabilities") {
          reply(request, json::object());
        } else {
          handler_(*this, request, fd.get());
        }
      }
    }
  }

  Handler handler_;
  UniqueFd server_, client_, pending_fd_;
  std::mutex mutex_;
  std::vector<std::string> commands_;
  std::thread thread_;
};

Result<QmpClient> connect_to(FakeQmp& fake, std::chrono::milliseconds timeout = 2s) {
  return QmpClient::adopt(fake.take_client(), timeout);
}

TEST(QmpClient, HandshakeReadsGreetingAndNegotiatesCapabilities) {
  FakeQmp fake([](FakeQmp&, const json&, int) {});
  auto qmp = connect_to(fake);
  ASSERT_TRUE(qmp) << qmp.error().message;
  EXPECT_EQ(fake.commands(), std::vector<std::string>{"qmp_capabilities"});
}

TEST(QmpClient, ExecuteReturnsTheReturnValueAndSendsArguments) {
  json seen;
  FakeQmp fake([&](FakeQmp& f, const json& request, int) {
    seen = request;
    f.reply(request, {{"status", "running"}, {"running", true}});
  });
  auto qmp = connect_to(fake);
  ASSERT_TRUE(qmp) << qmp.error().message;
  auto r = qmp->execute("query-status", {{"x", 1}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ((*r)["status"], "running");
  EXPECT_EQ(seen["arguments"]["x"], 1);
  auto status = qmp_query_status(*qmp);
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(*status, "running");
}

TEST(QmpClient, ErrorReplyCarriesTheDescriptionAndMapsTheClass) {
  FakeQmp fake([](FakeQmp& f, const json& request, int) {
    const std::string cls = request["execute"] == "nope" ? "CommandNotFound" : "GenericError";
    f.send({{"error", {{"class", cls}, {"desc", "Disallowing migration: vhost-user-vsock"}}}, {"id", request["id"]}});
  });
  auto qmp = connect_to(fake);
  ASSERT_TRUE(qmp) << qmp.error().message;
  auto r = qmp->execute("migrate", {{"uri", "fd:x"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::internal);
  EXPECT_NE(r.error().message.find("Disallowing migration: vhost-user-vsock"), std::string::npos) << r.error().message;
  auto missing = qmp->execute("nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::unsupported);
}

TEST(QmpClient, EventsBeforeTheReplyAreQueuedForWaitEvent) {
  FakeQmp fake([](FakeQmp& f, const json& request, int) {
    f.send({{"event", "STOP"}, {"timestamp", {{"seconds", 1}, {"microseconds", 2}}}});
    f.send({{"event", "MIGRATION"}, {"data", {{"status", "setup"}}}});
    f.reply(request, json::object());
  });
  auto qmp = connect_to(fake);
  ASSERT_TRUE(qmp) << qmp.error().message;
  ASSERT_TRUE(qmp->execute("stop"));
  EXPECT_EQ(qmp->pending_events().size(), 2u);
  auto migration = qmp->wait_event("MIGRATION", 0ms);
  ASSERT_TRUE(migration) << migration.error().message;
  EXPECT_EQ((*migration)["data"]["status"], "setup");
  auto stop = qmp->wait_event("STOP", 0ms);
  ASSERT_TRUE(stop) << stop.error().message;
  EXPECT_TRUE(qmp->pending_events().empty());
}

TEST(QmpClient, WaitEventReadsUntilTheNamedEventAndKeepsOthers) {
  FakeQmp fake([](FakeQmp& f, const json& request, int) {
    f.reply(request, json::object());
    f.send({{"event", "RESUME"}});
    f.send({{"event", "SHUTDOWN"}, {"data", {{"guest", true}, {"reason", "guest-shutdown"}}}});
  });
  auto qmp = connect_to(fake);
  ASSERT_TRUE(qmp) << qmp.error().message;
  ASSERT_TRUE(qmp_system_powerdown(*qmp));
  auto shutdown = qmp->wait_event("SHUTDOWN", 2s);
  ASSERT_TRUE(shutdown) << shutdown.error().message;
  EXPECT_EQ((*shutdown)["data"]["reason"], "guest-shutdown");
  ASSERT_EQ(qmp->pending_events().size(), 1u);
  EXPECT_EQ(qmp->pending_events().front()["event"], "RESUME");
  auto none = qmp->wait_event("POWERDOWN", 50ms);
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("timed out"), std::string::npos) << none.error().message;
}

TEST(QmpClient, ServerThatNeverAnswersTimesOut) {
  FakeQmp fake([](FakeQmp&, const json&, int) {});
  auto qmp = connect_to(fake);
  ASSERT_TRUE(qmp) << qmp.error().message;
  const auto start = std::chrono::steady_clock::now();
  auto r = qmp->execute("query-status", json::object(), 150ms);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::internal);
  EXPECT_NE(r.error().message.find("timed out waiting for the reply to QMP query-status"), std::string::npos)
      << r.error().message;
  EXPECT_GE(took, 150ms);
  EXPECT_LT(took, 2s);
}

TEST(QmpClient, LateReplyToATimedOutCommandIsNotTakenForTheNextOne) {
  int calls = 0;
  json first;
  FakeQmp fake([&](FakeQmp& f, const json& request, int) {
    if (++calls == 1) {
      first = request;  // answered late, together with the second command
      return;
    }
    f.reply(first, "stale");
    f.reply(request, "fresh");
  });
  auto qmp = connect_to(fake);
  ASSERT_TRUE(qmp) << qmp.error().message;
  ASSERT_FALSE(qmp->execute("slow", json::object(), 50ms));
  auto r = qmp->execute("fast");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, "fresh");
}

TEST(QmpClient, GarbageIsAnInternalError) {
  FakeQmp fake([](FakeQmp& f, const json&, int) { f.send_raw("this is not json\n"); });
  auto qmp = connect_to(fake);
  ASSERT_TRUE(qmp) << qmp.error().message;
  auto r = qmp->execute("query-status");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::internal);
  EXPECT_NE(r.error().message.find("not a JSON object"), std::string::npos) << r.error().message;
}

TEST(QmpClient, HandshakeFailures) {
  {
    FakeQmp silent([](FakeQmp&, const json&, int) {}, /*greet=*/false);
    auto qmp = connect_to(silent, 100ms);
    ASSERT_FALSE(qmp);
    EXPECT_NE(qmp.error().message.find("timed out waiting for the QMP greeting"), std::string::npos);
  }
  {
    FakeQmp wrong([](FakeQmp&, const json&, int) {}, /*greet=*/false);
    wrong.send({{"hello", 1}});
    auto qmp = connect_to(wrong);
    ASSERT_FALSE(qmp);
    EXPECT_NE(qmp.error().message.find("greeting expected"), std::string::npos);
  }
}

TEST(QmpClient, ClosedConnectionIsHostUnavailableButQuitSucceeds) {
  FakeQmp fake([](FakeQmp& f, const json& request, int) {
    if (request["execute"] == "quit") f.hang_up();  // QEMU may exit before its reply
  });
  auto qmp = connect_to(fake);
  ASSERT_TRUE(qmp) << qmp.error().message;
  auto quit = qmp_quit(*qmp);
  EXPECT_TRUE(quit) << quit.error().message;
  auto after = qmp->execute("query-status");
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code, ErrorCode::host_unavailable);
}

TEST(QmpClient, ConnectRetriesUntilTheSocketAppears) {
  char tmpl[] = "/tmp/maqmpXXXXXX";
  const fs::path dir = ::mkdtemp(tmpl);
  const fs::path path = dir / "qmp.sock";
  std::thread server([&] {
    std::this_thread::sleep_for(200ms);  // QEMU still starting
    UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ASSERT_EQ(::listen(listener.get(), 1), 0);
    UniqueFd conn(::accept(listener.get(), nullptr, nullptr));
    const std::string greeting = kGreeting.dump() + "\n";
    (void)!::write(conn.get(), greeting.data(), greeting.size());
    std::string line;
    char c;
    while (::read(conn.get(), &c, 1) == 1 && c != '\n') line += c;
    const std::string reply = json{{"return", json::object()}, {"id", json::parse(line)["id"]}}.dump() + "\n";
    (void)!::write(conn.get(), reply.data(), reply.size());
    while (::read(conn.get(), &c, 1) == 1) {
    }
  });
  {
    auto qmp = QmpClient::connect(path, 3s);
    EXPECT_TRUE(qmp) << qmp.error().message;
  }
  server.join();
  auto missing = QmpClient::connect(dir / "absent.sock", 50ms);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::host_unavailable);
  fs::remove_all(dir);
}

// The capture protocol against a fake: migrate refused by a blocker -> closefd,
// then dump-guest-memory through a passed descriptor, polled with query-dump.
TEST(QmpClient, CaptureFallsBackToDumpWhenMigrationIsRefused) {
  FakeQmp fake([](FakeQmp& f, const json& request, int fd) {
    const std::string name = request["execute"];
    if (name == "migrate") {
      f.send({{"error", {{"class", "GenericError"}, {"desc", "Migration is disabled: vhost-user-vsock"}}}, {"id", request["id"]}});
    } else if (name == "dump-guest-memory") {
      ASSERT_EQ(request["arguments"]["protocol"], "fd:microagent-capture");
      f.reply(request, json::object());
    } else if (name == "getfd") {
      ASSERT_GE(fd, 0) << "getfd without a descriptor";
      (void)!::write(fd, "\x7f" "ELF-dump", 9);
      f.reply(request, json::object());
    } else if (name == "query-dump") {
      f.reply(request, {{"status", "completed"}, {"completed", 9}, {"total", 9}});
    } else {
      f.reply(request, json::object());
    }
  });
  auto qmp = connect_to(fake);
  ASSERT_TRUE(qmp) << qmp.error().message;
  char tmpl[] = "/tmp/maqmpXXXXXX";
  const fs::path dir = ::mkdtemp(tmpl);
  auto capture = qmp_capture_migration_stream(*qmp, dir / "evidence with space.bin", 5s);
  ASSERT_TRUE(capture) << capture.error().message;
  EXPECT_EQ(capture->method, GuestCapture::Method::memory_dump);
  EXPECT_NE(capture->migration_refusal.find("vhost-user-vsock"), std::string::npos);
  // The first getfd's bytes were written before the refusal; the file was truncated for the dump.
  EXPECT_EQ(capture->bytes, 9u);
  EXPECT_EQ(fake.commands(), (std::vector<std::string>{"qmp_capabilities", "stop", "getfd", "migrate", "closefd", "getfd",
                                                       "dump-guest-memory", "query-dump"}));
  fs::remove_all(dir);
}

TEST(QmpClient, FailedCaptureRemovesTheFile) {
  FakeQmp fake([](FakeQmp& f, const json& request, int) {
    if (request["execute"] == "query-migrate") {
      f.reply(request, {{"status", "failed"}, {"error-desc", "disk full"}});
    } else {
      f.reply(request, json::object());
    }
  });
  auto qmp = connect_to(fake);
  ASSERT_TRUE(qmp) << qmp.error().message;
  char tmpl[] = "/tmp/maqmpXXXXXX";
  const fs::path dir = ::mkdtemp(tmpl);
  auto capture = qmp_capture_migration_stream(*qmp, dir / "evidence.bin", 5s);
  ASSERT_FALSE(capture);
  EXPECT_NE(capture.error().message.find("disk full"), std::string::npos) << capture.error().message;
  EXPECT_FALSE(fs::exists(dir / "evidence.bin"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace microagent::linux_kvm
