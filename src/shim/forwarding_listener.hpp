#pragma once
// One host-side listener of a workspace whose every accepted connection is
// relayed to a peer opened on demand: --publish (TCP on the host -> the guest's
// vsock port through hybrid vsock) and mediation (the guest's vsock port,
// arriving at <uds>_<port> -> a host TCP target). Each connection runs on its
// own thread with bounded buffers (common/stream_relay.hpp); stop() closes the
// listener, cuts every connection and waits for their threads.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "protocol/types.hpp"

namespace microagent::shim {

class ForwardingListener {
 public:
  using OpenPeer = std::function<Result<UniqueFd>()>;
  // `listener` must be a listening, non-blocking stream socket.
  static Result<std::unique_ptr<ForwardingListener>> start(UniqueFd listener, OpenPeer open_peer, std::string name);
  ~ForwardingListener();
  ForwardingListener(const ForwardingListener&) = delete;
  ForwardingListener& operator=(const ForwardingListener&) = delete;

  void stop();
  const std::string& name() const { return name_; }
  std::uint64_t accepted() const { return accepted_; }

 private:
  ForwardingListener() = default;
  void accept_loop();
  void serve(UniqueFd client);

  std::string name_;
  UniqueFd listener_;
  UniqueFd stop_;  // eventfd: readable once stop() ran
  OpenPeer open_peer_;
  std::thread acceptor_;
  std::mutex mutex_;
  std::condition_variable idle_;
  std::size_t active_ = 0;
  std::atomic<std::uint64_t> accepted_{0};
  bool stopped_ = false;
};

// --publish: TCP on forward.host:forward.host_port, each connection to the guest's vsock port host_port.
Result<std::unique_ptr<ForwardingListener>> start_publish_listener(const std::filesystem::path& vsock_uds,
                                                                   const protocol::PortForward& forward);
// Mediation: guest connections to vsock `spec.port` (at <uds>_<port>), each to the host target.
Result<std::unique_ptr<ForwardingListener>> start_mediation_listener(const std::filesystem::path& vsock_uds,
                                                                     const protocol::MediationSpec& spec);

}  // namespace microagent::shim
