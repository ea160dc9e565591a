#include "backends/linux_kvm/vsock/vsock_bridge.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <string>

namespace microagent::linux_kvm {

using vsock_spec::Op;
using vsock_spec::PacketHeader;

namespace {

UniqueFd connect_unix(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return {};
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return {};
  // A Unix stream connect completes at once or fails (EAGAIN: backlog full); there is no
  // in-progress state, so the guest gets its answer right away.
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return {};
  return fd;
}

}  // namespace

VsockConnection& VsockBridge::add(UniqueFd fd, ConnectionState state) {
  std::uint64_t id = next_id_++;
  auto conn = std::make_unique<VsockConnection>(id, std::move(fd), state);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u64 = kConnectionTag | id;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, conn->unix_fd(), &ev);
  auto& ref = *conn;
  by_id_.emplace(id, std::move(conn));
  return ref;
}

void VsockBridge::remove(VsockConnection& conn) {
  if (conn.unix_fd() >= 0) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, conn.unix_fd(), nullptr);
  if (conn.state() != ConnectionState::awaiting_connect_line) {
    by_ports_.erase({conn.guest_port, conn.host_port});
  }
  by_id_.erase(conn.id());  // destroys conn
}

void VsockBridge::abort(VsockConnection& conn) {
  if (conn.state() != ConnectionState::awaiting_connect_line) send_control(conn.header(Op::rst, guest_cid_));
  remove(conn);
}

void VsockBridge::reset() {
  for (auto& [id, conn] : by_id_) {
    if (conn->unix_fd() >= 0) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, conn->unix_fd(), nullptr);
  }
  by_id_.clear();
  by_ports_.clear();
  control_.clear();
}

VsockConnection* VsockBridge::find(std::uint32_t guest_port, std::uint32_t host_port) {
  auto it = by_ports_.find({guest_port, host_port});
  return it == by_ports_.end() ? nullptr : by_id_.at(it->second).get();
}

std::uint32_t VsockBridge::allocate_host_port(std::uint32_t guest_port) {
  for (;;) {
    std::uint32_t port = next_host_port_;
    next_host_port_ = next_host_port_ == 0xfffffffeu ? kFirstHostPort : next_host_port_ + 1;
    if (!by_ports_.contains({guest_port, port})) return port;
  }
}

void VsockBridge::send_rst_reply(const PacketHeader& to) {
  PacketHeader r;
  r.src_cid = vsock_spec::kHostCid;
  r.dst_cid = guest_cid_;
  r.src_port = to.dst_port;
  r.dst_port = to.src_port;
  r.type = to.type;
  r.op = Op::rst;
  send_control(r);
}

void VsockBridge::process_tx(const GuestMemory& memory, SplitVirtqueue& tx) {
  bool used = false;
  while (auto chain = tx.pop(memory)) {
    handle_guest_packet(*chain);
    tx.push_used(chain->head, 0);  // tx buffers are read-only for us
    used = true;
  }
  if (used) tx.notify();
}

void VsockBridge::handle_guest_packet(const DescriptorChain& chain) {
  std::array<std::uint8_t, vsock_spec::kHeaderSize> raw{};
  if (!chain.valid || chain.read(0, raw) < raw.size()) return;
  auto h = *vsock_spec::decode_header(raw);
  // Only the guest's own CID talking to the host is valid (5.10.6.1); anything else is
  // dropped as Linux's vhost-vsock does.
  if (h.src_cid != guest_cid_ || h.dst_cid != vsock_spec::kHostCid) return;
  if (h.type != vsock_spec::Type::stream) {
    if (h.op != Op::rst) send_rst_reply(h);
    return;
  }
  if (h.len > chain.readable_bytes() - vsock_spec::kHeaderSize) {
    if (h.op != Op::rst) send_rst_reply(h);
    return;
  }
  auto* conn = find(h.src_port, h.dst_port);
  if (h.op == Op::request) {
    if (conn) {
      abort(*conn);
      return;
    }
    on_guest_request(h);
    return;
  }
  if (!conn) {
    if (h.op != Op::rst) send_rst_reply(h);
    return;
  }
  conn->note_peer_credit(h);
  switch (h.op) {
    case Op::response:
      if (conn->state() != ConnectionState::connecting) {
        abort(*conn);
        return;
      }
      conn->set_state(ConnectionState::established);
      conn->queue_for_unix("OK " + std::to_string(conn->host_port) + "\n");
      flush(*conn);
      return;
    case Op::rw: {
      if (conn->state() != ConnectionState::established || conn->guest_shut_send) {
        abort(*conn);
        return;
      }
      std::vector<std::uint8_t> payload(h.len);
      chain.read(vsock_spec::kHeaderSize, payload);
      // A guest that sends beyond the credit we advertised breaks the protocol; dropping
      // the bytes would corrupt the stream silently, so the stream is reset instead.
      if (!conn->accept_from_guest(payload)) {
        abort(*conn);
        return;
      }
      flush(*conn);
      return;
    }
    case Op::credit_update:
      return;  // the new credit is in the header; fill_rx uses it
    case Op::credit_request:
      send_control(conn->header(Op::credit_update, guest_cid_));
      conn->note_credit_reported();
      return;
    case Op::shutdown:
      on_guest_shutdown(*conn, h.flags);
      return;
    case Op::rst:
      // The guest aborted: give the Unix peer what it already sent us, then close.
      if (conn->unix_fd() >= 0) conn->flush_to_unix();
      remove(*conn);
      return;
    default:
      abort(*conn);
      return;
  }
}

void VsockBridge::on_guest_request(const PacketHeader& h) {
  std::string path = hybrid_uds_.string() + "_" + std::to_string(h.dst_port);
  UniqueFd fd = connect_unix(path);
  if (!fd) {
    send_rst_reply(h);
    return;
  }
  auto& conn = add(std::move(fd), ConnectionState::established);
  conn.guest_port = h.src_port;
  conn.host_port = h.dst_port;
  conn.note_peer_credit(h);
  by_ports_[{conn.guest_port, conn.host_port}] = conn.id();
  send_control(conn.header(Op::response, guest_cid_));
}

void VsockBridge::on_guest_shutdown(VsockConnection& conn, std::uint32_t flags) {
  if (flags & vsock_spec::kShutdownRcv) conn.guest_shut_rcv = true;
  if (flags & vsock_spec::kShutdownSend) conn.guest_shut_send = true;
  if (conn.state() == ConnectionState::closing && conn.guest_shut_rcv && conn.guest_shut_send) {
    // Both ends have closed; the guest waits for our RST to free its socket (5.10.6.6).
    abort(conn);
    return;
  }
  advance_close(conn);
}

void VsockBridge::flush(VsockConnection& conn) {
  if (conn.unix_fd() < 0) return;
  if (conn.flush_to_unix() == IoStatus::error) {
    abort(conn);
    return;
  }
  if (conn.state() == ConnectionState::established && conn.credit_update_due()) {
    send_control(conn.header(Op::credit_update, guest_cid_));
    conn.note_credit_reported();
  }
  advance_close(conn);
}

void VsockBridge::advance_close(VsockConnection& conn) {
  if (conn.state() != ConnectionState::established) return;
  bool drained = !conn.has_pending_for_unix();
  if (conn.guest_shut_send && conn.guest_shut_rcv && drained) {
    // Full close from the guest, everything delivered: acknowledge with RST.
    abort(conn);
    return;
  }
  if (conn.guest_shut_send && drained && !conn.unix_shut_wr) {
    ::shutdown(conn.unix_fd(), SHUT_WR);  // half-close: the Unix peer reads EOF
    conn.unix_shut_wr = true;
  }
  if (conn.unix_eof && !conn.sent_shutdown_send) {
    // Sent after every byte read before the EOF (fill_rx queues it behind that data).
    auto h = conn.header(Op::shutdown, guest_cid_);
    h.flags = vsock_spec::kShutdownSend;
    send_control(h);
    conn.sent_shutdown_send = true;
  }
  if (conn.unix_eof && conn.unix_shut_wr) {
    // Nothing more can move either way: release the Unix socket and ask the guest to
    // finish the close; its RST (or SHUTDOWN) removes the connection.
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, conn.unix_fd(), nullptr);
    conn.close_unix();
    auto h = conn.header(Op::shutdown, guest_cid_);
    h.flags = vsock_spec::kShutdownRcv | vsock_spec::kShutdownSend;
    send_control(h);
    conn.set_state(ConnectionState::closing);
  }
}

void VsockBridge::accept_hybrid_client(UniqueFd client) {
  auto& conn = add(std::move(client), ConnectionState::awaiting_connect_line);
  conn.unix_readable = true;
  on_connect_line(conn);
}

void VsockBridge::on_connect_line(VsockConnection& conn) {
  std::uint32_t port = 0;
  switch (conn.read_connect_line(port)) {
    case VsockConnection::LineStatus::incomplete:
      return;
    case VsockConnection::LineStatus::invalid:
    case VsockConnection::LineStatus::closed:
      remove(conn);
      return;
    case VsockConnection::LineStatus::ready:
      break;
  }
  conn.guest_port = port;
  conn.host_port = allocate_host_port(port);
  conn.set_state(ConnectionState::connecting);
  by_ports_[{conn.guest_port, conn.host_port}] = conn.id();
  send_control(conn.header(Op::request, guest_cid_));
}

void VsockBridge::on_unix_event(std::uint64_t id, std::uint32_t events) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  auto& conn = *it->second;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) conn.unix_readable = true;
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) conn.unix_writable = true;
  switch (conn.state()) {
    case ConnectionState::awaiting_connect_line:
      on_connect_line(conn);
      return;
    case ConnectionState::connecting:
      // The client gave up before the guest answered: withdraw the request.
      if (events & (EPOLLHUP | EPOLLERR)) abort(conn);
      return;
    case ConnectionState::established:
      flush(conn);
      return;
    case ConnectionState::closing:
      return;
  }
}

bool VsockBridge::wants_to_read(const VsockConnection& conn) const {
  return conn.state() == ConnectionState::established && conn.unix_readable && !conn.unix_eof &&
         !conn.guest_shut_rcv && conn.peer_credit() > 0;
}

void VsockBridge::fill_rx(const GuestMemory& memory, SplitVirtqueue& rx) {
  bool used = false;
  auto finish = [&](const DescriptorChain& chain, std::uint32_t written) {
    rx.push_used(chain.head, written);
    used = true;
  };
  // Control packets first, in order.
  while (!control_.empty()) {
    auto chain = rx.pop(memory);
    if (!chain) break;
    if (!chain->valid || chain->writable_bytes() < vsock_spec::kHeaderSize) {
      finish(*chain, 0);
      continue;
    }
    std::array<std::uint8_t, vsock_spec::kHeaderSize> raw{};
    vsock_spec::encode_header(control_.front(), raw);
    chain->write(0, raw);
    control_.pop_front();
    finish(*chain, vsock_spec::kHeaderSize);
  }
  // Then stream data, round-robin. New control packets (EOF -> SHUTDOWN) generated here
  // are sent on the next call, after this round's data, which keeps per-stream order.
  bool progress = control_.empty();
  while (progress) {
    progress = false;
    std::vector<std::uint64_t> readers;
    for (auto& [id, conn] : by_id_) {
      if (wants_to_read(*conn)) readers.push_back(id);
    }
    for (auto id : readers) {
      if (!control_.empty()) break;  // an EOF's SHUTDOWN must not be overtaken by other data
      auto it = by_id_.find(id);
      if (it == by_id_.end() || !wants_to_read(*it->second)) continue;
      auto& conn = *it->second;
      auto chain = rx.pop(memory);
      if (!chain) break;
      std::size_t room = chain->writable_bytes();
      if (!chain->valid || room <= vsock_spec::kHeaderSize) {
        finish(*chain, 0);
        progress = true;
        continue;
      }
      std::size_t cap = std::min({room - vsock_spec::kHeaderSize, static_cast<std::size_t>(conn.peer_credit()),
                                  scratch_.size()});
      std::size_t got = 0;
      auto status = conn.read_from_unix(std::span(scratch_.data(), cap), got);
      if (status != IoStatus::progress) {
        rx.unpop();
        if (status == IoStatus::eof) {
          conn.unix_eof = true;
          advance_close(conn);
        } else if (status == IoStatus::error) {
          abort(conn);
        }
        continue;
      }
      auto h = conn.header(Op::rw, guest_cid_);
      h.len = static_cast<std::uint32_t>(got);
      std::array<std::uint8_t, vsock_spec::kHeaderSize> raw{};
      vsock_spec::encode_header(h, raw);
      chain->write(0, raw);
      chain->write(vsock_spec::kHeaderSize, std::span<const std::uint8_t>(scratch_.data(), got));
      conn.count_sent_to_guest(static_cast<std::uint32_t>(got));
      conn.note_credit_reported();
      finish(*chain, static_cast<std::uint32_t>(vsock_spec::kHeaderSize + got));
      progress = true;
    }
    if (!control_.empty()) break;
  }
  if (!control_.empty() && rx.has_available()) {
    // EOF handling above queued control packets while buffers remain: send them now.
    if (used) rx.notify();
    fill_rx(memory, rx);
    return;
  }
  if (used) rx.notify();
}

}  // namespace microagent::linux_kvm
