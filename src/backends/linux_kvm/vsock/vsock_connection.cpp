#include "backends/linux_kvm/vsock/vsock_connection.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

namespace microagent::linux_kvm {

using vsock_spec::Op;
using vsock_spec::PacketHeader;

PacketHeader VsockConnection::header(Op op, std::uint64_t guest_cid) const {
  PacketHeader h;
  h.src_cid = vsock_spec::kHostCid;
  h.dst_cid = guest_cid;
  h.src_port = host_port;
  h.dst_port = guest_port;
  h.type = vsock_spec::Type::stream;
  h.op = op;
  h.buf_alloc = kBufAlloc;
  h.fwd_cnt = fwd_cnt_;
  return h;
}

void VsockConnection::note_peer_credit(const PacketHeader& h) {
  peer_buf_alloc_ = h.buf_alloc;
  peer_fwd_cnt_ = h.fwd_cnt;
}

std::uint32_t VsockConnection::peer_credit() const {
  // Unsigned wrap-around is intended: the counters are free-running u32 (5.10.6.3).
  std::uint32_t in_flight = tx_cnt_ - peer_fwd_cnt_;
  return in_flight >= peer_buf_alloc_ ? 0 : peer_buf_alloc_ - in_flight;
}

bool VsockConnection::accept_from_guest(std::span<const std::uint8_t> payload) {
  if (credited_pending_ + payload.size() > kBufAlloc) return false;
  if (to_unix_head_ > 0 && to_unix_head_ >= pending()) {
    to_unix_.erase(to_unix_.begin(), to_unix_.begin() + static_cast<std::ptrdiff_t>(to_unix_head_));
    to_unix_head_ = 0;
  }
  to_unix_.insert(to_unix_.end(), payload.begin(), payload.end());
  credited_pending_ += payload.size();
  return true;
}

void VsockConnection::queue_for_unix(std::string_view text) {
  // Device-originated text goes first: it is only ever the reply line, sent before any
  // guest data can exist on this stream.
  to_unix_.insert(to_unix_.begin() + static_cast<std::ptrdiff_t>(to_unix_head_), text.begin(), text.end());
}

IoStatus VsockConnection::flush_to_unix() {
  bool progressed = false;
  while (pending() > 0) {
    if (!unix_writable) break;
    std::size_t offered = pending();
    ssize_t n = ::send(unix_fd_.get(), to_unix_.data() + to_unix_head_, offered, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        unix_writable = false;
        break;
      }
      return IoStatus::error;
    }
    std::size_t written = static_cast<std::size_t>(n);
    // Bytes beyond credited_pending_ at the front are the uncredited reply line.
    std::size_t uncredited = pending() - credited_pending_;
    std::size_t credited = written > uncredited ? written - uncredited : 0;
    credited_pending_ -= credited;
    fwd_cnt_ += static_cast<std::uint32_t>(credited);
    to_unix_head_ += written;
    progressed = true;
    if (written < offered) unix_writable = false;
  }
  if (pending() == 0) {
    to_unix_.clear();
    to_unix_head_ = 0;
  }
  return progressed ? IoStatus::progress : IoStatus::would_block;
}

IoStatus VsockConnection::read_from_unix(std::span<std::uint8_t> out, std::size_t& got) {
  got = 0;
  for (;;) {
    ssize_t n = ::recv(unix_fd_.get(), out.data(), out.size(), MSG_DONTWAIT);
    if (n > 0) {
      got = static_cast<std::size_t>(n);
      return IoStatus::progress;
    }
    if (n == 0) return IoStatus::eof;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      unix_readable = false;
      return IoStatus::would_block;
    }
    return IoStatus::error;
  }
}

bool VsockConnection::credit_update_due() const {
  std::uint32_t unreported = fwd_cnt_ - reported_fwd_cnt_;
  if (unreported == 0) return false;
  // What the guest believes is still in our buffer: everything it sent since the last
  // fwd_cnt it heard. Only when that eats half the window can the guest be close to
  // stalling; small exchanges then ride on the headers of ordinary packets.
  std::uint32_t guest_view_in_flight = static_cast<std::uint32_t>(credited_pending_) + unreported;
  return guest_view_in_flight >= kBufAlloc / 2 && (unreported >= kBufAlloc / 8 || credited_pending_ == 0);
}

VsockConnection::LineStatus VsockConnection::read_connect_line(std::uint32_t& port) {
  constexpr std::size_t kMaxLine = 64;
  char buf[kMaxLine];
  ssize_t n = ::recv(unix_fd_.get(), buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return LineStatus::closed;
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      unix_readable = false;
      return LineStatus::incomplete;
    }
    return LineStatus::closed;
  }
  std::string_view peeked(buf, static_cast<std::size_t>(n));
  auto newline = peeked.find('\n');
  if (newline == std::string_view::npos) {
    if (peeked.size() >= kMaxLine) return LineStatus::invalid;
    // The rest of the line has not arrived: wait for the next edge.
    unix_readable = false;
    return LineStatus::incomplete;
  }
  auto parsed = parse_connect_line(peeked.substr(0, newline));
  if (!parsed) return LineStatus::invalid;
  char sink[kMaxLine];
  if (::recv(unix_fd_.get(), sink, newline + 1, MSG_DONTWAIT) != static_cast<ssize_t>(newline + 1)) {
    return LineStatus::closed;
  }
  port = *parsed;
  return LineStatus::ready;
}

std::optional<std::uint32_t> parse_connect_line(std::string_view line) {
  constexpr std::string_view kVerb = "CONNECT ";
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (!line.starts_with(kVerb)) return std::nullopt;
  auto digits = line.substr(kVerb.size());
  if (digits.empty() || digits.size() > 10) return std::nullopt;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc{} || end != digits.data() + digits.size() || value > 0xffffffffull) return std::nullopt;
  return static_cast<std::uint32_t>(value);
}

}  // namespace microagent::linux_kvm
