#pragma once
// Routes vsock stream packets between the guest's virtqueues and host Unix sockets, using
// the Firecracker hybrid-vsock convention (Firecracker docs/vsock.md):
//  - host -> guest: a client of `hybrid_uds` writes "CONNECT <port>\n"; once the guest
//    accepts we answer "OK <host port>\n" and the socket becomes the stream;
//  - guest -> host: a guest connection to CID 2 port P is connected to `<hybrid_uds>_P`.
// Runs on the device thread only; every Unix fd is non-blocking and edge-triggered in
// the device's epoll set, tagged kConnectionTag | connection id.
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

#include "backends/linux_kvm/vsock/guest_memory.hpp"
#include "backends/linux_kvm/vsock/split_virtqueue.hpp"
#include "backends/linux_kvm/vsock/virtio_vsock_spec.hpp"
#include "backends/linux_kvm/vsock/vsock_connection.hpp"
#include "common/unique_fd.hpp"

namespace microagent::linux_kvm {

class VsockBridge {
 public:
  static constexpr std::uint64_t kConnectionTag = 1ull << 63;
  // Host ports we pick for host-initiated streams, as Firecracker does.
  static constexpr std::uint32_t kFirstHostPort = 1u << 30;
  // Largest payload per rx packet, whatever the guest's buffers would hold.
  static constexpr std::size_t kMaxPacketPayload = 64 * 1024;

  VsockBridge(int epoll_fd, std::filesystem::path hybrid_uds, std::uint64_t guest_cid)
      : epoll_fd_(epoll_fd), hybrid_uds_(std::move(hybrid_uds)), guest_cid_(guest_cid) {}

  // Consumes every chain the driver placed on the tx queue.
  void process_tx(const GuestMemory& memory, SplitVirtqueue& tx);
  // Fills rx buffers: queued control packets first (they must precede stream data), then
  // data from readable Unix sockets, one packet per connection per round for fairness.
  void fill_rx(const GuestMemory& memory, SplitVirtqueue& rx);
  void accept_hybrid_client(UniqueFd client);
  void on_unix_event(std::uint64_t id, std::uint32_t events);
  // The guest's transport went away: close every Unix connection.
  void reset();

  std::size_t connection_count() const { return by_id_.size(); }

 private:
  using PortKey = std::pair<std::uint32_t, std::uint32_t>;  // guest port, host port

  void handle_guest_packet(const DescriptorChain& chain);
  void on_guest_request(const vsock_spec::PacketHeader& h);
  void on_guest_shutdown(VsockConnection& conn, std::uint32_t flags);
  void on_connect_line(VsockConnection& conn);
  // Writes pending guest data to the Unix peer and applies what follows from it.
  void flush(VsockConnection& conn);
  // Moves a connection along its close sequence once buffers allow; may remove it.
  void advance_close(VsockConnection& conn);
  void abort(VsockConnection& conn);  // RST to the guest, close the Unix side
  void remove(VsockConnection& conn);
  void send_control(const vsock_spec::PacketHeader& h) { control_.push_back(h); }
  void send_rst_reply(const vsock_spec::PacketHeader& to);
  VsockConnection& add(UniqueFd fd, ConnectionState state);
  std::uint32_t allocate_host_port(std::uint32_t guest_port);
  VsockConnection* find(std::uint32_t guest_port, std::uint32_t host_port);
  bool wants_to_read(const VsockConnection& conn) const;

  int epoll_fd_;
  std::filesystem::path hybrid_uds_;
  std::uint64_t guest_cid_;
  std::uint64_t next_id_ = 1;
  std::uint32_t next_host_port_ = kFirstHostPort;
  std::unordered_map<std::uint64_t, std::unique_ptr<VsockConnection>> by_id_;
  std::map<PortKey, std::uint64_t> by_ports_;
  std::deque<vsock_spec::PacketHeader> control_;
  std::vector<std::uint8_t> scratch_ = std::vector<std::uint8_t>(kMaxPacketPayload);
};

}  // namespace microagent::linux_kvm
