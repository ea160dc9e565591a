#include "shim/guest_channel.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "shim/hybrid_vsock.hpp"

namespace microagent::shim {

Result<GuestChannel> GuestChannel::listen(const std::filesystem::path& uds, std::uint32_t port, std::size_t max_bytes) {
  auto listener = listen_for_guest_connections(uds, port);
  if (!listener) return std::unexpected(listener.error());
  GuestChannel channel;
  channel.path_ = guest_port_socket(uds, port);
  channel.listener_ = std::move(*listener);
  channel.max_bytes_ = max_bytes;
  channel.phase_ = Phase::listening;
  return channel;
}

GuestChannel& GuestChannel::operator=(GuestChannel&& other) noexcept {
  if (this == &other) return *this;
  stop_listening();
  path_ = std::exchange(other.path_, {});
  listener_ = std::move(other.listener_);
  stream_ = std::move(other.stream_);
  max_bytes_ = other.max_bytes_;
  total_bytes_ = other.total_bytes_;
  received_ = std::move(other.received_);
  error_ = std::move(other.error_);
  phase_ = std::exchange(other.phase_, Phase::closed);
  return *this;
}

int GuestChannel::poll_fd() const {
  if (phase_ == Phase::listening) return listener_.get();
  if (phase_ == Phase::connected) return stream_.get();
  return -1;
}

void GuestChannel::stop_listening() {
  if (!listener_) return;
  listener_.reset();
  // Unlinked, the device's connect for any later guest connection fails and
  // the guest sees a refused port (RST), not a listener that never answers.
  if (!path_.empty()) ::unlink(path_.c_str());
}

void GuestChannel::end(Phase phase, std::string error) {
  stop_listening();
  stream_.reset();
  phase_ = phase;
  error_ = std::move(error);
}

void GuestChannel::on_readable() {
  if (phase_ == Phase::listening) {
    UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!conn) return;  // EAGAIN (spurious wake-up) or a connection that went away: keep listening
    // The one connection of this boot: nobody else gets in.
    stop_listening();
    stream_ = std::move(conn);
    phase_ = Phase::connected;
  }
  if (phase_ != Phase::connected) return;
  char buffer[65536];
  while (true) {
    const ssize_t n = ::read(stream_.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0) return end(Phase::failed, std::string("read from the guest: ") + std::strerror(errno));
    if (n == 0) return end(Phase::complete);  // closing our end is the guest's acknowledgement
    total_bytes_ += static_cast<std::size_t>(n);
    if (total_bytes_ > max_bytes_) {
      return end(Phase::failed, "guest sent more than the allowed " + std::to_string(max_bytes_) + " bytes");
    }
    received_.append(buffer, static_cast<std::size_t>(n));
  }
}

void GuestChannel::close() {
  if (done()) return;
  end(Phase::closed);
}

}  // namespace microagent::shim
