#include "backends/linux_kvm/vsock/vhost_user_session.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "backends/linux_kvm/vsock/virtio_vsock_spec.hpp"

namespace microagent::linux_kvm {

namespace vu = vhost_user;

namespace {

// What we offer: virtio 1.x rings and the vhost-user protocol-feature handshake. Not
// EVENT_IDX (we signal after every used batch) and not INDIRECT_DESC (direct chains only).
constexpr std::uint64_t kOfferedFeatures = vsock_spec::kFeatureVersion1 | vu::kFeatureProtocolFeatures;
constexpr std::uint64_t kOfferedProtocolFeatures = vu::kProtocolReplyAck | vu::kProtocolConfig;

template <class T>
Result<T> payload_as(const std::vector<std::uint8_t>& payload, const char* what) {
  T value{};
  if (payload.size() < sizeof(T)) {
    return fail(ErrorCode::invalid_request, fmt::format("vhost-user {}: short payload", what));
  }
  std::memcpy(&value, payload.data(), sizeof(T));
  return value;
}

}  // namespace

VhostUserSession::VhostUserSession(UniqueFd socket, int epoll_fd, std::uint64_t guest_cid)
    : socket_(std::move(socket)), epoll_fd_(epoll_fd), guest_cid_(guest_cid) {}

VhostUserSession::~VhostUserSession() { reset_rings(); }

bool VhostUserSession::any_polled_queue() const {
  for (const auto& q : queues_) {
    if (q.ready() && q.polled()) return true;
  }
  return false;
}

void VhostUserSession::reset_rings() {
  for (auto& q : queues_) {
    if (q.kick_fd() >= 0) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, q.kick_fd(), nullptr);
    q.reset();
  }
  ring_addrs_ = {};
  transport_reset_ = true;
}

Result<VhostUserSession::Message> VhostUserSession::receive() {
  Message msg;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * vu::kMaxFds)];
  iovec iov{&msg.header, sizeof(msg.header)};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = control;
  mh.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = ::recvmsg(socket_.get(), &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL);
  } while (n < 0 && errno == EINTR);
  if (n == 0) return fail(ErrorCode::host_unavailable, "vhost-user front end disconnected");
  if (n < 0) return fail_errno("vhost-user recvmsg", errno);
  for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c != nullptr; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      msg.fds.emplace_back(fd);
    }
  }
  if (static_cast<std::size_t>(n) != sizeof(msg.header)) {
    return fail(ErrorCode::invalid_request, "vhost-user: truncated message header");
  }
  if (msg.header.size > vu::kMaxPayload) {
    return fail(ErrorCode::invalid_request, "vhost-user: payload of " + std::to_string(msg.header.size) +
                                                " bytes is larger than any known message");
  }
  msg.payload.resize(msg.header.size);
  std::size_t got = 0;
  while (got < msg.payload.size()) {
    ssize_t r = ::recv(socket_.get(), msg.payload.data() + got, msg.payload.size() - got, MSG_WAITALL);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return fail(ErrorCode::host_unavailable, "vhost-user front end closed mid-message");
    got += static_cast<std::size_t>(r);
  }
  return msg;
}

Result<void> VhostUserSession::reply(const vu::Header& request, const void* payload, std::size_t size) {
  vu::Header h{request.request, vu::kVersion | vu::kFlagReply, static_cast<std::uint32_t>(size)};
  std::vector<std::uint8_t> out(reinterpret_cast<const std::uint8_t*>(&h),
                                reinterpret_cast<const std::uint8_t*>(&h) + sizeof(h));
  const auto* bytes = static_cast<const std::uint8_t*>(payload);
  out.insert(out.end(), bytes, bytes + size);
  std::size_t sent = 0;
  while (sent < out.size()) {
    ssize_t n = ::send(socket_.get(), out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("vhost-user reply", errno);
    sent += static_cast<std::size_t>(n);
  }
  return {};
}

Result<void> VhostUserSession::handle_message() {
  auto msg = receive();
  if (!msg) return std::unexpected(msg.error());
  bool replied = false;
  auto result = dispatch(*msg, replied);
  // REPLY_ACK (vhost-user.rst "REPLY_ACK"): a request flagged need_reply that has no
  // reply of its own is answered with a u64, zero for success.
  bool wants_ack = (protocol_features_ & vu::kProtocolReplyAck) && (msg->header.flags & vu::kFlagNeedReply);
  if (!replied && wants_ack) {
    if (auto r = reply_u64(msg->header, result ? 0 : 1); !r) return r;
  }
  // A failed request the front end hears about through the ack is not fatal; one it
  // cannot hear about leaves us out of step with it, so the session ends.
  if (!result && !wants_ack) return result;
  return {};
}

Result<void> VhostUserSession::dispatch(Message& msg, bool& replied) {
  auto index_of = [&](std::uint64_t value) -> Result<std::size_t> {
    std::size_t index = value & vu::kVringIndexMask;
    if (index >= kQueueCount) return fail(ErrorCode::invalid_request, "vhost-user: vring index out of range");
    return index;
  };
  switch (msg.header.request) {
    case vu::kGetFeatures:
      replied = true;
      return reply_u64(msg.header, kOfferedFeatures);
    case vu::kSetFeatures: {
      auto f = payload_as<std::uint64_t>(msg.payload, "SET_FEATURES");
      if (!f) return std::unexpected(f.error());
      acked_features_ = *f & kOfferedFeatures;
      return {};
    }
    case vu::kGetProtocolFeatures:
      replied = true;
      return reply_u64(msg.header, kOfferedProtocolFeatures);
    case vu::kSetProtocolFeatures: {
      auto f = payload_as<std::uint64_t>(msg.payload, "SET_PROTOCOL_FEATURES");
      if (!f) return std::unexpected(f.error());
      protocol_features_ = *f & kOfferedProtocolFeatures;
      return {};
    }
    case vu::kGetQueueNum:
      replied = true;
      return reply_u64(msg.header, kQueueCount);
    case vu::kSetOwner:
      return {};
    case vu::kResetOwner:
    case vu::kResetDevice:
      reset_rings();
      return {};
    case vu::kSetMemTable:
      return set_mem_table(msg);
    case vu::kSetVringNum: {
      auto s = payload_as<vu::VringState>(msg.payload, "SET_VRING_NUM");
      if (!s) return std::unexpected(s.error());
      auto i = index_of(s->index);
      if (!i) return std::unexpected(i.error());
      queues_[*i].set_size(s->num);
      return {};
    }
    case vu::kSetVringAddr: {
      auto a = payload_as<vu::VringAddr>(msg.payload, "SET_VRING_ADDR");
      if (!a) return std::unexpected(a.error());
      auto i = index_of(a->index);
      if (!i) return std::unexpected(i.error());
      ring_addrs_[*i] = *a;
      return queues_[*i].set_addresses(memory_, *a);
    }
    case vu::kSetVringBase: {
      auto s = payload_as<vu::VringState>(msg.payload, "SET_VRING_BASE");
      if (!s) return std::unexpected(s.error());
      auto i = index_of(s->index);
      if (!i) return std::unexpected(i.error());
      queues_[*i].set_base(static_cast<std::uint16_t>(s->num));
      return {};
    }
    case vu::kGetVringBase: {
      auto s = payload_as<vu::VringState>(msg.payload, "GET_VRING_BASE");
      if (!s) return std::unexpected(s.error());
      auto i = index_of(s->index);
      if (!i) return std::unexpected(i.error());
      auto& q = queues_[*i];
      if (q.kick_fd() >= 0) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, q.kick_fd(), nullptr);
      q.stop();
      // The front end stops rings for a device reset or a migration; either way the
      // guest's vsock transport restarts from nothing (QEMU sends TRANSPORT_RESET).
      transport_reset_ = true;
      vu::VringState state{s->index, q.base()};
      replied = true;
      return reply(msg.header, &state, sizeof(state));
    }
    case vu::kSetVringKick: {
      auto v = payload_as<std::uint64_t>(msg.payload, "SET_VRING_KICK");
      if (!v) return std::unexpected(v.error());
      auto i = index_of(*v);
      if (!i) return std::unexpected(i.error());
      bool no_fd = (*v & vu::kVringNoFd) || msg.fds.empty();
      set_kick(*i, no_fd ? std::nullopt : std::optional<UniqueFd>(std::move(msg.fds[0])));
      return {};
    }
    case vu::kSetVringCall:
    case vu::kSetVringErr: {
      auto v = payload_as<std::uint64_t>(msg.payload, "SET_VRING_CALL/ERR");
      if (!v) return std::unexpected(v.error());
      auto i = index_of(*v);
      if (!i) return std::unexpected(i.error());
      bool no_fd = (*v & vu::kVringNoFd) || msg.fds.empty();
      // We never report ring errors, so an error fd is simply closed with msg.fds.
      if (msg.header.request == vu::kSetVringCall) queues_[*i].set_call(no_fd ? UniqueFd{} : std::move(msg.fds[0]));
      return {};
    }
    case vu::kSetVringEnable: {
      auto s = payload_as<vu::VringState>(msg.payload, "SET_VRING_ENABLE");
      if (!s) return std::unexpected(s.error());
      auto i = index_of(s->index);
      if (!i) return std::unexpected(i.error());
      queues_[*i].set_enabled(s->num != 0);
      return {};
    }
    case vu::kGetConfig:
      replied = true;
      return get_config(msg);
    case vu::kSetConfig:
      return {};  // guest_cid is read-only for the driver (5.10.4)
    default:
      return fail(ErrorCode::unsupported, "vhost-user request " + std::to_string(msg.header.request) +
                                              " is not supported by the vsock back end");
  }
}

void VhostUserSession::set_kick(std::size_t index, std::optional<UniqueFd> fd) {
  auto& q = queues_[index];
  if (q.kick_fd() >= 0) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, q.kick_fd(), nullptr);
  bool polled = !fd.has_value();
  q.set_kick(polled ? UniqueFd{} : std::move(*fd), polled);
  // Without VHOST_USER_F_PROTOCOL_FEATURES a ring is enabled as soon as it starts;
  // with it, rings wait for SET_VRING_ENABLE (vhost-user.rst "Ring states").
  if (!(acked_features_ & vu::kFeatureProtocolFeatures)) q.set_enabled(true);
  if (q.kick_fd() >= 0) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kKickTagBase + index;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, q.kick_fd(), &ev);
  }
}

Result<void> VhostUserSession::set_mem_table(Message& msg) {
  auto table = payload_as<vu::MemoryTable>(msg.payload, "SET_MEM_TABLE");
  if (!table) {
    // The payload holds only nregions entries; accept a shorter one that still covers them.
    if (msg.payload.size() < 8) return std::unexpected(table.error());
    vu::MemoryTable t{};
    std::memcpy(&t, msg.payload.data(), std::min(msg.payload.size(), sizeof(t)));
    table = t;
  }
  if (table->nregions > vu::kMaxMemoryRegions ||
      msg.payload.size() < 8 + table->nregions * sizeof(vu::MemoryRegion)) {
    return fail(ErrorCode::invalid_request, "SET_MEM_TABLE: bad region count");
  }
  // The old regions are unmapped by set_table; rings that pointed into them are
  // translated again below, as the front end may change the table while rings run.
  auto r = memory_.set_table(std::span(table->regions, table->nregions), msg.fds);
  if (!r) return r;
  for (std::size_t i = 0; i < kQueueCount; ++i) {
    queues_[i].forget_addresses();
    if (ring_addrs_[i]) {
      if (auto a = queues_[i].set_addresses(memory_, *ring_addrs_[i]); !a) return a;
    }
  }
  return {};
}

Result<void> VhostUserSession::get_config(const Message& msg) {
  auto header = payload_as<vu::ConfigHeader>(msg.payload, "GET_CONFIG");
  if (!header) return std::unexpected(header.error());
  // Config space (5.10.4): le64 guest_cid, nothing else.
  std::uint8_t space[8];
  std::memcpy(space, &guest_cid_, sizeof(space));
  std::vector<std::uint8_t> out(vu::kConfigHeaderSize + header->size, 0);
  std::memcpy(out.data(), &*header, vu::kConfigHeaderSize);
  for (std::uint32_t i = 0; i < header->size; ++i) {
    std::uint64_t at = std::uint64_t{header->offset} + i;
    if (at < sizeof(space)) out[vu::kConfigHeaderSize + i] = space[at];
  }
  return reply(msg.header, out.data(), out.size());
}

}  // namespace microagent::linux_kvm
