#include "guestinit/port_forward_service.hpp"

#include <arpa/inet.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "common/stream_relay.hpp"
#include "common/unique_fd.hpp"
#include "guestinit/console_log.hpp"
#include "guestinit/result_sender.hpp"

namespace microagent::guestinit {
namespace {

constexpr int kConnectTimeoutMs = 5000;

struct Listener {
  UniqueFd fd;
  enum class Kind { publish, mediation } kind;
  std::uint32_t vsock_port;
  std::uint16_t tcp_port;
};

UniqueFd listen_on(int family, std::uint32_t port) {
  UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return {};
  int rc;
  if (family == AF_VSOCK) {
    sockaddr_vm addr{};
    addr.svm_family = AF_VSOCK;
    addr.svm_cid = VMADDR_CID_ANY;
    addr.svm_port = port;
    rc = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  } else {
    const int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rc = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  }
  if (rc != 0 || ::listen(fd.get(), 128) != 0) {
    log_line(std::string(family == AF_VSOCK ? "vsock" : "tcp") + " listen on port " + std::to_string(port) + ": " +
             std::strerror(errno));
    return {};
  }
  return fd;
}

UniqueFd connect_guest_tcp(std::uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return {};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) return {};
  const int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// In a forked child: open the other side, relay, exit.
[[noreturn]] void serve_connection(UniqueFd client, const Listener& from) {
  UniqueFd peer;
  if (from.kind == Listener::Kind::publish) {
    peer = connect_guest_tcp(from.tcp_port);
  } else if (auto host = connect_vsock(kHostCid, from.vsock_port, kConnectTimeoutMs)) {
    peer = std::move(*host);
  }
  // Nothing listens on the other side: closing the client is the answer.
  if (peer) {
    auto stats = relay_streams(client.get(), peer.get());
    // A relay that ended on an error may have cut a stream short: say so on the console.
    if (stats.error) {
      log_line("port forward " + std::to_string(from.vsock_port) + ": relay ended with " +
               std::strerror(stats.error) + " after " + std::to_string(stats.a_to_b) + " bytes in, " +
               std::to_string(stats.b_to_a) + " bytes out");
    }
  }
  ::_exit(0);
}

[[noreturn]] void serve(std::vector<Listener> listeners) {
  // Children are reaped automatically; a relay that dies never blocks the next.
  ::signal(SIGCHLD, SIG_IGN);
  std::vector<pollfd> fds;
  for (const auto& l : listeners) fds.push_back({l.fd.get(), POLLIN, 0});
  for (;;) {
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno != EINTR) ::usleep(100000);
      continue;
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      UniqueFd client(::accept4(fds[i].fd, nullptr, nullptr, SOCK_CLOEXEC));
      if (!client) continue;
      const pid_t pid = ::fork();
      if (pid == 0) {
        const Listener& from = listeners[i];
        for (auto& l : listeners) {
          if (&l != &from) l.fd.reset();
        }
        serve_connection(std::move(client), from);
      }
    }
  }
}

}  // namespace

pid_t start_port_forward_service(const GuestNetwork& network) {
  if (network.forwards.empty() && network.mediation_port == 0) return -1;
  std::vector<Listener> listeners;
  for (const auto& f : network.forwards) {
    if (UniqueFd fd = listen_on(AF_VSOCK, f.vsock_port)) {
      listeners.push_back({std::move(fd), Listener::Kind::publish, f.vsock_port, f.guest_port});
    }
  }
  if (network.mediation_port != 0 && network.mediation_port <= 65535) {
    if (UniqueFd fd = listen_on(AF_INET, network.mediation_port)) {
      listeners.push_back({std::move(fd), Listener::Kind::mediation, network.mediation_port, 0});
    }
  }
  if (listeners.empty()) return -1;
  const pid_t pid = ::fork();
  if (pid < 0) {
    log_line(std::string("cannot start the port forward service: fork: ") + std::strerror(errno));
    return -1;
  }
  if (pid == 0) serve(std::move(listeners));
  debug_line("port forward service started");
  return pid;
}

}  // namespace microagent::guestinit
