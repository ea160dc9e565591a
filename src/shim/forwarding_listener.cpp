#include "shim/forwarding_listener.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/core.h>

#include "common/stream_relay.hpp"
#include "net/tcp_endpoint.hpp"
#include "shim/hybrid_vsock.hpp"

namespace microagent::shim {

using namespace std::chrono_literals;

// More connections than this wait in the listen backlog until one ends.
constexpr std::size_t kMaxConnections = 512;
// A guest under TCG accepting a burst of connections (one fork each) can take
// seconds per connection at the back of the queue.
constexpr auto kGuestAcceptTimeout = 30s;

Result<std::unique_ptr<ForwardingListener>> ForwardingListener::start(UniqueFd listener, OpenPeer open_peer, std::string name) {
  std::unique_ptr<ForwardingListener> self(new ForwardingListener());
  self->name_ = std::move(name);
  self->listener_ = std::move(listener);
  self->open_peer_ = std::move(open_peer);
  self->stop_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!self->stop_) return fail_errno("eventfd", errno);
  self->acceptor_ = std::thread([raw = self.get()] { raw->accept_loop(); });
  return self;
}

ForwardingListener::~ForwardingListener() { stop(); }

void ForwardingListener::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
  }
  const std::uint64_t one = 1;
  (void)!::write(stop_.get(), &one, sizeof one);
  if (acceptor_.joinable()) acceptor_.join();
  listener_.reset();
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return active_ == 0; });
}

void ForwardingListener::accept_loop() {
  for (;;) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
    {
      std::lock_guard lock(mutex_);
      if (active_ >= kMaxConnections) fds[0].events = 0;
    }
    if (::poll(fds, 2, fds[0].events ? -1 : 50) < 0 && errno != EINTR) return;
    if (fds[1].revents) return;
    if (!(fds[0].revents & POLLIN)) continue;
    UniqueFd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!client) continue;
    // A relay passes on segments as the far side wrote them; Nagle here would
    // only hold back the tail of a small answer. (A Unix socket refuses this: ignored.)
    const int one = 1;
    ::setsockopt(client.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ++accepted_;
    {
      std::lock_guard lock(mutex_);
      ++active_;
    }
    std::thread([this, c = std::move(client)]() mutable { serve(std::move(c)); }).detach();
  }
}

void ForwardingListener::serve(UniqueFd client) {
  if (auto peer = open_peer_()) {
    relay_streams(client.get(), peer->get(), stop_.get());
  }
  client.reset();
  std::lock_guard lock(mutex_);
  --active_;
  idle_.notify_all();
}

Result<std::unique_ptr<ForwardingListener>> start_publish_listener(const std::filesystem::path& vsock_uds,
                                                                   const protocol::PortForward& forward) {
  auto listener = net::listen_tcp(forward.host, forward.host_port);
  if (!listener) return std::unexpected(listener.error());
  // The vsock port is the host port (DESIGN.md section 4); guest init relays it to GUESTPORT.
  const std::uint32_t port = forward.host_port;
  auto open_guest = [vsock_uds, port] { return connect_to_guest(vsock_uds, port, kGuestAcceptTimeout); };
  return ForwardingListener::start(std::move(*listener), std::move(open_guest),
                                   fmt::format("publish {}:{}->{}", forward.host, forward.host_port, forward.guest_port));
}

Result<std::unique_ptr<ForwardingListener>> start_mediation_listener(const std::filesystem::path& vsock_uds,
                                                                     const protocol::MediationSpec& spec) {
  auto listener = listen_for_guest_connections(vsock_uds, spec.port);
  if (!listener) return std::unexpected(listener.error());
  const std::string target = spec.target;
  return ForwardingListener::start(std::move(*listener), [target] { return net::connect_tcp(target, 5s); },
                                   fmt::format("mediation vsock {}->{}", spec.port, spec.target));
}

}  // namespace microagent::shim
