// Drives the whole device through a fake vhost-user front end: what QEMU and a Linux guest
// driver would do, checked against what a host process sees on the hybrid Unix sockets.
#include "backends/linux_kvm/vsock/vhost_user_vsock_device.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <thread>

#include "fake_vhost_user_front_end.hpp"

namespace microagent::linux_kvm {
namespace {

using testing::FakeFrontEnd;
using testing::GuestPacket;
using vsock_spec::Op;
using vsock_spec::PacketHeader;

constexpr std::uint64_t kCid = 7;

int listen_at(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ::unlink(path.c_str());
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  EXPECT_EQ(::listen(fd, 64), 0);
  return fd;
}

int connect_to(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  return fd;
}

// Reads exactly n bytes (or until EOF/timeout); returns what arrived.
std::string read_n(int fd, std::size_t n, int timeout_ms = 5000) {
  std::string out;
  char buf[65536];
  while (out.size() < n) {
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, timeout_ms) <= 0) break;
    ssize_t r = ::recv(fd, buf, std::min(sizeof(buf), n - out.size()), 0);
    if (r <= 0) break;
    out.append(buf, static_cast<std::size_t>(r));
  }
  return out;
}

bool reads_eof(int fd, int timeout_ms = 5000) {
  pollfd pfd{fd, POLLIN, 0};
  if (::poll(&pfd, 1, timeout_ms) <= 0) return false;
  char c;
  return ::recv(fd, &c, 1, 0) == 0;
}

class VhostUserVsockDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mavsXXXXXX";
    dir_ = ::mkdtemp(tmpl);
    uds_ = dir_ + "/v.sock";
    auto device = VhostUserVsockDevice::start({dir_ + "/vu.sock", uds_, kCid});
    ASSERT_TRUE(device) << device.error().message;
    device_ = std::move(*device);
    ASSERT_TRUE(fe_.connect(dir_ + "/vu.sock"));
    ASSERT_TRUE(fe_.handshake(kCid));
    EXPECT_TRUE(device_->front_end_connected());
  }
  void TearDown() override {
    device_.reset();
    std::filesystem::remove_all(dir_);
  }

  PacketHeader guest_header(Op op, std::uint32_t guest_port, std::uint32_t host_port,
                            std::uint32_t buf_alloc = 256 * 1024, std::uint32_t fwd_cnt = 0) {
    PacketHeader h;
    h.src_cid = kCid;
    h.dst_cid = vsock_spec::kHostCid;
    h.src_port = guest_port;
    h.dst_port = host_port;
    h.op = op;
    h.buf_alloc = buf_alloc;
    h.fwd_cnt = fwd_cnt;
    return h;
  }

  // Guest connects to host port `port` (listener `<uds>_port`); returns the accepted fd.
  int guest_connect(int listener, std::uint32_t guest_port, std::uint32_t port) {
    fe_.send_packet(guest_header(Op::request, guest_port, port));
    auto resp = fe_.receive_packet();
    EXPECT_TRUE(resp);
    if (!resp) return -1;
    EXPECT_EQ(resp->header.op, Op::response);
    EXPECT_EQ(resp->header.src_cid, vsock_spec::kHostCid);
    EXPECT_EQ(resp->header.dst_cid, kCid);
    EXPECT_EQ(resp->header.src_port, port);
    EXPECT_EQ(resp->header.dst_port, guest_port);
    pollfd pfd{listener, POLLIN, 0};
    EXPECT_EQ(::poll(&pfd, 1, 5000), 1);
    return ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  }

  std::string dir_;
  std::string uds_;
  std::unique_ptr<VhostUserVsockDevice> device_;
  FakeFrontEnd fe_;
};

TEST_F(VhostUserVsockDeviceTest, GuestInitiatedStreamCarriesBytesAndHalfCloses) {
  int listener = listen_at(uds_ + "_1024");
  int host = guest_connect(listener, 40000, 1024);
  ASSERT_GE(host, 0);

  fe_.send_packet(guest_header(Op::rw, 40000, 1024), "hello from guest");
  EXPECT_EQ(read_n(host, 16), "hello from guest");

  ASSERT_EQ(::send(host, "hello from host", 15, 0), 15);
  std::string got;
  while (got.size() < 15) {
    auto p = fe_.receive_packet();
    ASSERT_TRUE(p);
    if (p->header.op == Op::credit_update) continue;
    ASSERT_EQ(p->header.op, Op::rw);
    EXPECT_EQ(p->header.dst_port, 40000u);
    got += p->payload;
  }
  EXPECT_EQ(got, "hello from host");

  // Guest half-closes its sending side: the host reads EOF but can still write.
  {
    auto h = guest_header(Op::shutdown, 40000, 1024);
    h.flags = vsock_spec::kShutdownSend;
    fe_.send_packet(h);
  }
  EXPECT_TRUE(reads_eof(host));
  ASSERT_EQ(::send(host, "late", 4, 0), 4);
  ::shutdown(host, SHUT_WR);
  std::string late;
  bool saw_shutdown_send = false;
  for (int i = 0; i < 10 && !saw_shutdown_send; ++i) {
    auto p = fe_.receive_packet();
    ASSERT_TRUE(p);
    if (p->header.op == Op::rw) late += p->payload;
    if (p->header.op == Op::shutdown) {
      EXPECT_TRUE(p->header.flags & vsock_spec::kShutdownSend);
      EXPECT_EQ(late, "late") << "data must precede the SHUTDOWN";
      saw_shutdown_send = true;
    }
  }
  EXPECT_TRUE(saw_shutdown_send);
  // Both halves are closed; the guest finishes with RST and no reply comes back to it.
  fe_.send_packet(guest_header(Op::rst, 40000, 1024));
  ::close(host);
  ::close(listener);
}

TEST_F(VhostUserVsockDeviceTest, GuestFullCloseIsAnsweredWithRstAfterDelivery) {
  int listener = listen_at(uds_ + "_1030");
  int host = guest_connect(listener, 40001, 1030);
  fe_.send_packet(guest_header(Op::rw, 40001, 1030), "last words");
  auto h = guest_header(Op::shutdown, 40001, 1030);
  h.flags = vsock_spec::kShutdownSend | vsock_spec::kShutdownRcv;
  fe_.send_packet(h);
  std::optional<GuestPacket> p;
  do {
    p = fe_.receive_packet();
    ASSERT_TRUE(p);
  } while (p->header.op == Op::credit_update);
  EXPECT_EQ(p->header.op, Op::rst);
  EXPECT_EQ(read_n(host, 10), "last words");
  EXPECT_TRUE(reads_eof(host));
  ::close(host);
  ::close(listener);
}

TEST_F(VhostUserVsockDeviceTest, GuestConnectWithoutHostListenerIsReset) {
  fe_.send_packet(guest_header(Op::request, 40002, 1999));
  auto p = fe_.receive_packet();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->header.op, Op::rst);
  EXPECT_EQ(p->header.dst_port, 40002u);
  EXPECT_EQ(p->header.src_port, 1999u);
  // Data for a stream that does not exist is reset too.
  fe_.send_packet(guest_header(Op::rw, 40003, 1999), "x");
  p = fe_.receive_packet();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->header.op, Op::rst);
}

TEST_F(VhostUserVsockDeviceTest, HostConnectsThroughHybridSocket) {
  int host = connect_to(uds_);
  // Bytes after the CONNECT line are stream data, not part of the command.
  std::string hello = "CONNECT 5000\nearly bytes";
  ASSERT_EQ(::send(host, hello.data(), hello.size(), 0), static_cast<ssize_t>(hello.size()));
  auto req = fe_.receive_packet();
  ASSERT_TRUE(req);
  ASSERT_EQ(req->header.op, Op::request);
  EXPECT_EQ(req->header.dst_port, 5000u);
  EXPECT_EQ(req->header.dst_cid, kCid);
  std::uint32_t host_port = req->header.src_port;
  EXPECT_GE(host_port, 1u << 30);

  fe_.send_packet(guest_header(Op::response, 5000, host_port));
  EXPECT_EQ(read_n(host, 3 + std::to_string(host_port).size() + 1), "OK " + std::to_string(host_port) + "\n");
  auto data = fe_.receive_packet();
  ASSERT_TRUE(data);
  EXPECT_EQ(data->header.op, Op::rw);
  EXPECT_EQ(data->payload, "early bytes");

  fe_.send_packet(guest_header(Op::rw, 5000, host_port), "from guest");
  EXPECT_EQ(read_n(host, 10), "from guest");
  ::close(host);
  // Closing the host side shows up as SHUTDOWN(SEND) for the guest.
  std::optional<GuestPacket> p;
  do {
    p = fe_.receive_packet();
    ASSERT_TRUE(p);
  } while (p->header.op == Op::credit_update);
  EXPECT_EQ(p->header.op, Op::shutdown);
  EXPECT_TRUE(p->header.flags & vsock_spec::kShutdownSend);

  // A second connection gets a different host port.
  int second = connect_to(uds_);
  ASSERT_EQ(::send(second, "CONNECT 5000\n", 13, 0), 13);
  auto req2 = fe_.receive_packet();
  ASSERT_TRUE(req2);
  EXPECT_EQ(req2->header.op, Op::request);
  EXPECT_NE(req2->header.src_port, host_port);
  ::close(second);
}

TEST_F(VhostUserVsockDeviceTest, HostConnectRefusedByGuestClosesUnixSide) {
  int host = connect_to(uds_);
  ASSERT_EQ(::send(host, "CONNECT 5001\n", 13, 0), 13);
  auto req = fe_.receive_packet();
  ASSERT_TRUE(req);
  ASSERT_EQ(req->header.op, Op::request);
  fe_.send_packet(guest_header(Op::rst, 5001, req->header.src_port));
  EXPECT_TRUE(reads_eof(host));
  ::close(host);

  int bad = connect_to(uds_);
  ASSERT_EQ(::send(bad, "HELLO\n", 6, 0), 6);
  // Closed with our line unread, so the kernel reports a reset rather than EOF.
  pollfd pfd{bad, POLLIN, 0};
  ASSERT_EQ(::poll(&pfd, 1, 5000), 1);
  char c;
  EXPECT_LE(::recv(bad, &c, 1, 0), 0);
  ::close(bad);
}

TEST_F(VhostUserVsockDeviceTest, MegabytesBothWaysRespectCreditAndKeepOrder) {
  int listener = listen_at(uds_ + "_1100");
  int host = guest_connect(listener, 41000, 1100);
  ASSERT_GE(host, 0);
  constexpr std::size_t kBytes = 3 << 20;
  std::string pattern(kBytes, '\0');
  for (std::size_t i = 0; i < kBytes; ++i) pattern[i] = static_cast<char>((i * 131 + i / 4096) & 0xff);

  // Host -> guest with a small guest window: the device must stop at the window and
  // resume on CREDIT_UPDATE.
  constexpr std::uint32_t kGuestWindow = 16 * 1024;
  fe_.send_packet(guest_header(Op::credit_update, 41000, 1100, kGuestWindow, 0));
  std::thread writer([&] {
    std::size_t sent = 0;
    while (sent < kBytes) {
      ssize_t n = ::send(host, pattern.data() + sent, kBytes - sent, 0);
      if (n <= 0) break;
      sent += static_cast<std::size_t>(n);
    }
  });
  std::string received;
  std::uint32_t fwd = 0;
  std::uint32_t in_window = 0;
  while (received.size() < kBytes) {
    auto p = fe_.receive_packet();
    ASSERT_TRUE(p) << "stalled at " << received.size();
    if (p->header.op != Op::rw) continue;
    in_window += p->header.len;
    ASSERT_LE(in_window, kGuestWindow) << "device overran the guest's credit";
    received += p->payload;
    // The fake guest consumes everything at once and reports it.
    fwd += p->header.len;
    in_window = 0;
    fe_.send_packet(guest_header(Op::credit_update, 41000, 1100, kGuestWindow, fwd));
  }
  writer.join();
  ASSERT_EQ(received.size(), kBytes);
  EXPECT_TRUE(received == pattern);

  // Guest -> host, honouring the device's advertised credit; the host reads slowly.
  std::string at_host;
  std::thread reader([&] { at_host = read_n(host, kBytes, 10000); });
  std::size_t sent = 0;
  std::uint32_t peer_alloc = 256 * 1024, peer_fwd = 0;
  std::uint32_t tx_cnt = 0;
  while (sent < kBytes) {
    std::uint32_t credit = peer_alloc - (tx_cnt - peer_fwd);
    if (credit == 0) {
      fe_.send_packet(guest_header(Op::credit_request, 41000, 1100, kGuestWindow, fwd));
      auto p = fe_.receive_packet();
      ASSERT_TRUE(p) << "no credit update at " << sent;
      peer_alloc = p->header.buf_alloc;
      peer_fwd = p->header.fwd_cnt;
      continue;
    }
    std::size_t chunk = std::min<std::size_t>({4096, credit, kBytes - sent});
    fe_.send_packet(guest_header(Op::rw, 41000, 1100, kGuestWindow, fwd), pattern.substr(sent, chunk));
    sent += chunk;
    tx_cnt += static_cast<std::uint32_t>(chunk);
  }
  reader.join();
  ASSERT_EQ(at_host.size(), kBytes);
  EXPECT_TRUE(at_host == pattern);
  ::close(host);
  ::close(listener);
}

TEST_F(VhostUserVsockDeviceTest, ManyConcurrentStreamsStaySeparate) {
  constexpr int kStreams = 24;
  int listener = listen_at(uds_ + "_1200");
  std::vector<int> hosts;
  for (int i = 0; i < kStreams; ++i) hosts.push_back(guest_connect(listener, 50000 + i, 1200));
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < kStreams; ++i) {
      fe_.send_packet(guest_header(Op::rw, 50000 + i, 1200), "s" + std::to_string(i) + "r" + std::to_string(round) + ";");
    }
  }
  for (int i = 0; i < kStreams; ++i) {
    std::string want;
    for (int round = 0; round < 3; ++round) want += "s" + std::to_string(i) + "r" + std::to_string(round) + ";";
    EXPECT_EQ(read_n(hosts[i], want.size()), want);
    std::string back = "back" + std::to_string(i);
    ASSERT_EQ(::send(hosts[i], back.data(), back.size(), 0), static_cast<ssize_t>(back.size()));
  }
  std::map<std::uint32_t, std::string> at_guest;
  std::size_t total = 0, want_total = 0;
  for (int i = 0; i < kStreams; ++i) want_total += ("back" + std::to_string(i)).size();
  while (total < want_total) {
    auto p = fe_.receive_packet();
    ASSERT_TRUE(p);
    if (p->header.op != Op::rw) continue;
    at_guest[p->header.dst_port] += p->payload;
    total += p->payload.size();
  }
  for (int i = 0; i < kStreams; ++i) EXPECT_EQ(at_guest[50000 + i], "back" + std::to_string(i));
  for (int fd : hosts) ::close(fd);
  ::close(listener);
}

TEST_F(VhostUserVsockDeviceTest, StoppedRingReportsBaseAndFrontEndCanReconnect) {
  fe_.send_packet(guest_header(Op::request, 40010, 1999));
  ASSERT_TRUE(fe_.receive_packet());
  EXPECT_EQ(fe_.get_vring_base(1), 1u);  // one tx chain consumed
  fe_.disconnect();
  for (int i = 0; i < 200 && device_->front_end_connected(); ++i) ::usleep(10000);
  EXPECT_FALSE(device_->front_end_connected());

  FakeFrontEnd again;
  ASSERT_TRUE(again.connect(dir_ + "/vu.sock"));
  ASSERT_TRUE(again.handshake(kCid));
  int listener = listen_at(uds_ + "_1024");
  again.send_packet(guest_header(Op::request, 40011, 1024));
  auto p = again.receive_packet();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->header.op, Op::response);
  ::close(listener);
}

TEST(VhostUserVsockDeviceStart, RejectsReservedCidAndLongPaths) {
  auto bad_cid = VhostUserVsockDevice::start({"/tmp/x-vu.sock", "/tmp/x-v.sock", 2});
  ASSERT_FALSE(bad_cid);
  EXPECT_EQ(bad_cid.error().code, ErrorCode::invalid_request);
  auto long_path = VhostUserVsockDevice::start({"/tmp/" + std::string(200, 'a'), "/tmp/x-v.sock", 3});
  ASSERT_FALSE(long_path);
  EXPECT_EQ(long_path.error().code, ErrorCode::invalid_request);
}

}  // namespace
}  // namespace microagent::linux_kvm
