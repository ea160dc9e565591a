#pragma once
// The back-end half of one vhost-user connection (QEMU docs/interop/vhost-user.rst): reads
// each front-end message, keeps the negotiated features, the shared guest memory and the
// vring setup, and answers. It knows nothing about vsock streams beyond the config space.
#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "backends/linux_kvm/vsock/guest_memory.hpp"
#include "backends/linux_kvm/vsock/split_virtqueue.hpp"
#include "backends/linux_kvm/vsock/vhost_user_messages.hpp"
#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace microagent::linux_kvm {

class VhostUserSession {
 public:
  // rx, tx and event; QEMU hands only rx and tx to us, the event queue stays in QEMU.
  static constexpr std::size_t kQueueCount = 3;
  // Epoll tag of queue i's kick eventfd is kKickTagBase + i.
  static constexpr std::uint64_t kKickTagBase = 16;

  VhostUserSession(UniqueFd socket, int epoll_fd, std::uint64_t guest_cid);
  ~VhostUserSession();
  VhostUserSession(const VhostUserSession&) = delete;
  VhostUserSession& operator=(const VhostUserSession&) = delete;

  int socket_fd() const { return socket_.get(); }
  // Reads and answers one message. An error means the front end is gone or broke the
  // protocol; the caller ends the session.
  Result<void> handle_message();

  const GuestMemory& memory() const { return memory_; }
  SplitVirtqueue& queue(std::size_t index) { return queues_.at(index); }
  bool any_polled_queue() const;
  // True once after the front end stopped or reset the rings: the guest's driver no
  // longer knows any stream, so the caller drops them all.
  bool take_transport_reset() { return std::exchange(transport_reset_, false); }

 private:
  struct Message {
    vhost_user::Header header{};
    std::vector<std::uint8_t> payload;
    std::vector<UniqueFd> fds;
  };
  Result<Message> receive();
  Result<void> reply(const vhost_user::Header& request, const void* payload, std::size_t size);
  Result<void> reply_u64(const vhost_user::Header& request, std::uint64_t value) {
    return reply(request, &value, sizeof(value));
  }
  // Dispatches one request; sets `replied` when the request has its own reply.
  Result<void> dispatch(Message& msg, bool& replied);
  Result<void> set_mem_table(Message& msg);
  Result<void> get_config(const Message& msg);
  void set_kick(std::size_t index, std::optional<UniqueFd> fd);
  void reset_rings();

  UniqueFd socket_;
  int epoll_fd_;
  std::uint64_t guest_cid_;
  std::uint64_t acked_features_ = 0;
  std::uint64_t protocol_features_ = 0;
  GuestMemory memory_;
  std::array<SplitVirtqueue, kQueueCount> queues_;
  // Ring addresses as given, to translate again when the memory table changes.
  std::array<std::optional<vhost_user::VringAddr>, kQueueCount> ring_addrs_;
  bool transport_reset_ = false;
};

}  // namespace microagent::linux_kvm
