#pragma once
// The host end of virtio-vsock on hosts without /dev/vhost-vsock (DESIGN.md section 4):
// a vhost-user-vsock device back end that QEMU's `vhost-user-vsock-device` front end
// connects to, exposing the guest's vsock streams through the Firecracker hybrid-vsock
// convention on Unix sockets. One device thread drives everything through epoll.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <thread>

#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace microagent::linux_kvm {

struct VsockDeviceConfig {
  std::filesystem::path vhost_user_socket;  // we listen; QEMU connects
  std::filesystem::path hybrid_uds;         // host side, Firecracker hybrid convention
  std::uint64_t guest_cid = 3;
};

class VhostUserVsockDevice {
 public:
  // Binds and listens on both sockets (unlinking stale ones first) and starts the device thread.
  static Result<std::unique_ptr<VhostUserVsockDevice>> start(VsockDeviceConfig config);
  ~VhostUserVsockDevice();            // stop(), then unlink both sockets
  void stop();                        // idempotent; closes all connections, joins the thread
  bool front_end_connected() const;   // QEMU has connected

  VhostUserVsockDevice(const VhostUserVsockDevice&) = delete;
  VhostUserVsockDevice& operator=(const VhostUserVsockDevice&) = delete;

 private:
  explicit VhostUserVsockDevice(VsockDeviceConfig config) : config_(std::move(config)) {}
  void run();

  VsockDeviceConfig config_;
  UniqueFd vhost_listener_;
  UniqueFd hybrid_listener_;
  UniqueFd epoll_;
  UniqueFd wakeup_;  // eventfd: stop() asks the thread to leave
  std::atomic<bool> front_end_connected_{false};
  std::atomic<bool> stopped_{false};
  std::thread thread_;
};

}  // namespace microagent::linux_kvm
