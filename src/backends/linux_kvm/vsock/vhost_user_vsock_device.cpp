#include "backends/linux_kvm/vsock/vhost_user_vsock_device.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

#include "backends/linux_kvm/vsock/virtio_vsock_spec.hpp"
#include "backends/linux_kvm/vsock/vhost_user_session.hpp"
#include "backends/linux_kvm/vsock/vsock_bridge.hpp"

namespace microagent::linux_kvm {
namespace {

// Epoll tags below VhostUserSession::kKickTagBase; connections use VsockBridge::kConnectionTag.
constexpr std::uint64_t kWakeupTag = 1;
constexpr std::uint64_t kVhostListenerTag = 2;
constexpr std::uint64_t kVhostSessionTag = 3;
constexpr std::uint64_t kHybridListenerTag = 4;

// How often rings set up without a kick fd (vhost-user "polling") are looked at.
constexpr int kPollIntervalMs = 5;

Result<UniqueFd> listen_unix(const std::filesystem::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string& p = path.native();
  if (p.empty() || p.size() >= sizeof(addr.sun_path)) {
    return fail(ErrorCode::invalid_request,
                "socket path '" + p + "' is empty or longer than " + std::to_string(sizeof(addr.sun_path) - 1) +
                    " bytes: choose a shorter state directory");
  }
  std::memcpy(addr.sun_path, p.c_str(), p.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return fail_errno("socket(AF_UNIX)", errno);
  std::error_code ec;
  std::filesystem::remove(path, ec);  // a stale socket from an earlier run
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return fail_errno("bind " + p, errno);
  }
  if (::listen(fd.get(), 128) != 0) return fail_errno("listen " + p, errno);
  return fd;
}

void watch(int epoll_fd, int fd, std::uint64_t tag) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = tag;
  ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev);
}

}  // namespace

Result<std::unique_ptr<VhostUserVsockDevice>> VhostUserVsockDevice::start(VsockDeviceConfig config) {
  if (config.guest_cid <= vsock_spec::kHostCid || config.guest_cid >= 0xffffffffull) {
    return fail(ErrorCode::invalid_request, "guest CID " + std::to_string(config.guest_cid) +
                                                " is reserved: use 3 or above");
  }
  std::unique_ptr<VhostUserVsockDevice> device(new VhostUserVsockDevice(std::move(config)));
  auto vhost = listen_unix(device->config_.vhost_user_socket);
  if (!vhost) return std::unexpected(vhost.error());
  device->vhost_listener_ = std::move(*vhost);
  auto hybrid = listen_unix(device->config_.hybrid_uds);
  if (!hybrid) return std::unexpected(hybrid.error());
  device->hybrid_listener_ = std::move(*hybrid);
  device->epoll_ = UniqueFd(::epoll_create1(EPOLL_CLOEXEC));
  if (!device->epoll_) return fail_errno("epoll_create1", errno);
  device->wakeup_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!device->wakeup_) return fail_errno("eventfd", errno);
  int ep = device->epoll_.get();
  watch(ep, device->wakeup_.get(), kWakeupTag);
  watch(ep, device->vhost_listener_.get(), kVhostListenerTag);
  watch(ep, device->hybrid_listener_.get(), kHybridListenerTag);
  device->thread_ = std::thread([d = device.get()] { d->run(); });
  return device;
}

VhostUserVsockDevice::~VhostUserVsockDevice() {
  stop();
  std::error_code ec;
  std::filesystem::remove(config_.vhost_user_socket, ec);
  std::filesystem::remove(config_.hybrid_uds, ec);
}

void VhostUserVsockDevice::stop() {
  if (stopped_.exchange(true)) return;
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wakeup_.get(), &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
  // The thread owned every connection and the session; the listeners close with us, but
  // close them now so nothing can connect to a stopped device.
  vhost_listener_.reset();
  hybrid_listener_.reset();
}

bool VhostUserVsockDevice::front_end_connected() const { return front_end_connected_.load(); }

void VhostUserVsockDevice::run() {
  const int ep = epoll_.get();
  VsockBridge bridge(ep, config_.hybrid_uds, config_.guest_cid);
  std::unique_ptr<VhostUserSession> session;

  auto end_session = [&] {
    if (!session) return;
    ::epoll_ctl(ep, EPOLL_CTL_DEL, session->socket_fd(), nullptr);
    session.reset();  // unmaps guest memory, closes kick/call fds
    bridge.reset();
    front_end_connected_ = false;
  };

  epoll_event events[64];
  for (;;) {
    int timeout = session && session->any_polled_queue() ? kPollIntervalMs : -1;
    int n = ::epoll_wait(ep, events, 64, timeout);
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      std::uint64_t tag = events[i].data.u64;
      if (tag == kWakeupTag) {
        end_session();
        bridge.reset();
        return;
      }
      if (tag & VsockBridge::kConnectionTag) {
        bridge.on_unix_event(tag & ~VsockBridge::kConnectionTag, events[i].events);
      } else if (tag == kVhostListenerTag) {
        UniqueFd client(::accept4(vhost_listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!client) continue;
        // One front end at a time: a second QEMU on the same device would share nothing
        // sensible with the first.
        if (session) continue;
        // Messages are read with blocking calls once their header arrived; the timeout
        // keeps a wedged front end from holding the device thread forever.
        timeval tv{5, 0};
        ::setsockopt(client.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        ::setsockopt(client.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        session = std::make_unique<VhostUserSession>(std::move(client), ep, config_.guest_cid);
        watch(ep, session->socket_fd(), kVhostSessionTag);
        front_end_connected_ = true;
      } else if (tag == kVhostSessionTag) {
        if (!session) continue;
        if (!session->handle_message()) {
          end_session();
          continue;
        }
        if (session->take_transport_reset()) bridge.reset();
      } else if (tag == kHybridListenerTag) {
        for (;;) {
          UniqueFd client(::accept4(hybrid_listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
          if (!client) break;
          bridge.accept_hybrid_client(std::move(client));
        }
      } else if (tag >= VhostUserSession::kKickTagBase && session) {
        session->queue(tag - VhostUserSession::kKickTagBase).drain_kick();
      }
    }
    // After any event, move what can move: guest packets first (they may grant credit or
    // open streams), then everything waiting for rx buffers.
    if (session) {
      auto& tx = session->queue(vsock_spec::kTxQueue);
      auto& rx = session->queue(vsock_spec::kRxQueue);
      if (tx.ready()) bridge.process_tx(session->memory(), tx);
      if (rx.ready()) bridge.fill_rx(session->memory(), rx);
    }
  }
  end_session();
}

}  // namespace microagent::linux_kvm
