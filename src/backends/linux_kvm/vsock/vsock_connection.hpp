#pragma once
// One vsock stream between a guest socket and a host Unix socket, with the virtio-vsock
// credit rules (virtio 1.2 section 5.10.6.3): we may send the guest at most
// peer_buf_alloc - (tx_cnt - peer_fwd_cnt) bytes, and we promise to buffer kBufAlloc
// bytes that the guest sends before the Unix peer has taken them. That promise is what
// bounds memory per connection when a Unix peer is slow.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backends/linux_kvm/vsock/virtio_vsock_spec.hpp"
#include "common/unique_fd.hpp"

namespace microagent::linux_kvm {

enum class ConnectionState {
  awaiting_connect_line,  // hybrid client accepted, "CONNECT <port>\n" not complete yet
  connecting,             // OP_REQUEST sent to the guest, waiting for OP_RESPONSE
  established,
  closing,                // we sent SHUTDOWN(RCV|SEND), waiting for the guest's RST
};

// What a non-blocking I/O step ended with.
enum class IoStatus { progress, would_block, eof, error };

class VsockConnection {
 public:
  static constexpr std::uint32_t kBufAlloc = 256 * 1024;

  VsockConnection(std::uint64_t id, UniqueFd unix_fd, ConnectionState state)
      : id_(id), unix_fd_(std::move(unix_fd)), state_(state) {}

  std::uint64_t id() const { return id_; }
  int unix_fd() const { return unix_fd_.get(); }
  void close_unix() { unix_fd_.reset(); }
  ConnectionState state() const { return state_; }
  void set_state(ConnectionState s) { state_ = s; }

  std::uint32_t guest_port = 0;
  std::uint32_t host_port = 0;

  // Unix-side readiness, remembered between epoll edges (fds are edge-triggered).
  bool unix_readable = false;
  bool unix_writable = true;
  bool unix_eof = false;          // read() returned 0: the host side will send no more
  bool sent_shutdown_send = false;  // told the guest about unix_eof
  bool guest_shut_send = false;   // guest will send no more: SHUT_WR once drained
  bool guest_shut_rcv = false;    // guest will read no more: stop reading the Unix side
  bool unix_shut_wr = false;

  // Header for a packet from the host end of this stream to the guest.
  vsock_spec::PacketHeader header(vsock_spec::Op op, std::uint64_t guest_cid) const;

  // Credit the guest granted us, from any packet it sends.
  void note_peer_credit(const vsock_spec::PacketHeader& h);
  std::uint32_t peer_credit() const;
  void count_sent_to_guest(std::uint32_t n) { tx_cnt_ += n; }

  // Queues guest payload for the Unix peer; false if the guest overran our credit.
  bool accept_from_guest(std::span<const std::uint8_t> payload);
  // Queues bytes the device itself says to the Unix peer ("OK <port>\n"); not credited.
  void queue_for_unix(std::string_view text);
  bool has_pending_for_unix() const { return pending() > 0; }
  // Writes as much pending data as the Unix peer takes.
  IoStatus flush_to_unix();
  // Reads up to out.size() bytes from the Unix peer.
  IoStatus read_from_unix(std::span<std::uint8_t> out, std::size_t& got);

  // The guest learns our fwd_cnt from every header; an explicit CREDIT_UPDATE is only
  // worth sending when the guest's picture of our buffer is half full or worse (else a
  // guest waiting on credit could stall).
  bool credit_update_due() const;
  void note_credit_reported() { reported_fwd_cnt_ = fwd_cnt_; }

  // "CONNECT <port>\n" parsing for the hybrid convention. Consumes exactly the line so
  // bytes after it stay in the socket and reach the guest as stream data.
  enum class LineStatus { incomplete, ready, invalid, closed };
  LineStatus read_connect_line(std::uint32_t& port);

 private:
  std::uint64_t id_;
  UniqueFd unix_fd_;
  ConnectionState state_;
  std::size_t pending() const { return to_unix_.size() - to_unix_head_; }
  // Bytes for the Unix peer live in [to_unix_head_, size()); the consumed prefix is
  // dropped once it outgrows the live part, so appends stay amortised O(1).
  std::vector<std::uint8_t> to_unix_;
  std::size_t to_unix_head_ = 0;
  std::size_t credited_pending_ = 0;  // guest bytes in to_unix_ (excludes our OK line)
  std::uint32_t fwd_cnt_ = 0;         // guest bytes handed to the Unix peer
  std::uint32_t reported_fwd_cnt_ = 0;
  std::uint32_t tx_cnt_ = 0;          // bytes we sent the guest
  std::uint32_t peer_buf_alloc_ = 0;
  std::uint32_t peer_fwd_cnt_ = 0;
};

// Parses "CONNECT <port>" (without the newline). Exposed for tests.
std::optional<std::uint32_t> parse_connect_line(std::string_view line);

}  // namespace microagent::linux_kvm
