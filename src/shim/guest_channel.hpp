#pragma once
// The host end of one guest-initiated vsock channel (result 1024, control
// 1026): exactly ONE connection per boot. Guest init opens it before it forks
// the workload (docs/vsock.md), so the first connection is guest init's; the
// channel accepts it, then closes and unlinks its <uds>_<port> listener so any
// later connection (a workload squatting or forging) is refused by the device.
// The accepted stream is read without blocking, a bounded number of bytes,
// whenever the owner's poll loop says it is readable: a guest that connects and
// sends nothing costs the host nothing and cannot outlast the owner's deadline.
#include <cstdint>
#include <filesystem>
#include <string>

#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace microagent::shim {

class GuestChannel {
 public:
  enum class Phase {
    listening,  // no connection yet
    connected,  // the one connection is open; bytes may still come
    complete,   // the guest half-closed (EOF); the stream is closed (the guest's acknowledgement)
    failed,     // over max_bytes or a read error; the stream is closed, error() says why
    closed,     // close() was called before the channel completed
  };

  GuestChannel() = default;
  GuestChannel(GuestChannel&&) = default;
  GuestChannel& operator=(GuestChannel&& other) noexcept;  // unlinks this channel's listener first
  ~GuestChannel() { stop_listening(); }
  // Listens on <uds>_<port> (a stale socket file is replaced).
  static Result<GuestChannel> listen(const std::filesystem::path& uds, std::uint32_t port, std::size_t max_bytes);

  // What to poll for POLLIN: the listener, then the stream, then nothing (-1).
  int poll_fd() const;
  // Call when poll_fd() is readable (or at any time: it never blocks). Accepts
  // the first connection, or reads what the stream holds.
  void on_readable();

  Phase phase() const { return phase_; }
  bool done() const { return phase_ == Phase::complete || phase_ == Phase::failed || phase_ == Phase::closed; }
  // Everything received and not yet consumed; a line reader may erase what it has handled.
  std::string& received() { return received_; }
  const std::string& error() const { return error_; }
  // The listener while the channel is listening (tests that accept by hand), else -1.
  int listener_fd() const { return listener_.get(); }

  // Closes the listener (unlinking its socket file) and the stream.
  void close();

 private:
  void stop_listening();
  void end(Phase phase, std::string error = {});

  std::filesystem::path path_;
  UniqueFd listener_;
  UniqueFd stream_;
  std::size_t max_bytes_ = 0;
  std::size_t total_bytes_ = 0;  // bounded over the connection's life, whatever the reader erases
  std::string received_;
  std::string error_;
  Phase phase_ = Phase::closed;
};

}  // namespace microagent::shim
