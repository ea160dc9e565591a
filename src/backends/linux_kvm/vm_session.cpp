#include "backends/linux_kvm/vm_session.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <thread>

#include <fmt/core.h>

#include "common/atomic_file.hpp"
#include "common/guest_wire.hpp"
#include "shim/hybrid_vsock.hpp"

namespace microagent::linux_kvm {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

int poll_timeout_ms(std::optional<Clock::time_point> deadline) {
  if (!deadline) return -1;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

// The supervisor blocks these at start-up; here they become readable events.
UniqueFd termination_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return UniqueFd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
}

}  // namespace

Result<VmSockets> plan_sockets(const std::filesystem::path& runtime_dir) {
  VmSockets sockets{runtime_dir / "vhost-user-vsock.sock", runtime_dir / "vsock.sock", runtime_dir / "qmp.sock",
                    runtime_dir / "serial.in"};
  // The longest name we create is <vsock>_<port> with a 10-digit port.
  if (shim::fits_unix_socket_path(sockets.vhost_user) && shim::fits_unix_socket_path(sockets.vsock.string() + "_4294967295")) {
    return sockets;
  }
  const auto short_dir = std::filesystem::path("/tmp") / fmt::format("microagent-{}", ::getuid()) /
                         fmt::format("{:016x}", std::hash<std::string>{}(runtime_dir.string()));
  if (auto ok = ensure_directory(short_dir, 0700); !ok) return std::unexpected(ok.error());
  return VmSockets{short_dir / "vhost-user-vsock.sock", short_dir / "vsock.sock", short_dir / "qmp.sock",
                   short_dir / "serial.in"};
}

supervisor::RuntimeSockets runtime_sockets(const VmSockets& s) {
  return {s.vhost_user.string(), s.vsock.string(), s.qmp.string(), s.serial_in.string()};
}

void remove_sockets(const VmSockets& sockets) {
  std::error_code ec;
  for (const auto& path : {sockets.vhost_user, sockets.qmp, sockets.serial_in, sockets.vsock}) {
    std::filesystem::remove(path, ec);
  }
  // Every guest-port listener: <vsock>_<port>.
  const auto dir = sockets.vsock.parent_path();
  const std::string prefix = sockets.vsock.filename().string() + "_";
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().filename().string().rfind(prefix, 0) == 0) std::filesystem::remove(entry.path(), ec);
  }
  if (dir.parent_path().filename().string().rfind("microagent-", 0) == 0) std::filesystem::remove(dir, ec);
}

Result<std::unique_ptr<VmSession>> VmSession::launch(VmLaunchSpec spec) {
  std::unique_ptr<VmSession> session(new VmSession());
  session->spec_ = std::move(spec);
  auto& s = session->spec_;

  auto result = shim::GuestChannel::listen(s.sockets.vsock, s.result_port, s.max_result_bytes);
  if (!result) return std::unexpected(result.error());
  session->result_channel_ = std::move(*result);
  if (s.listen_control) {
    auto control = shim::GuestChannel::listen(s.sockets.vsock, kControlPort, s.max_control_bytes);
    if (!control) return std::unexpected(control.error());
    session->control_channel_ = std::move(*control);
  }

  auto device = VhostUserVsockDevice::start(VsockDeviceConfig{s.sockets.vhost_user, s.sockets.vsock, 3});
  if (!device) return std::unexpected(device.error());
  session->device_ = std::move(*device);

  // Network before QEMU (it opens the TAP / passt socket at start-up), then the
  // host ends of --publish and mediation.
  auto network = VmNetwork::attach(s.network, s.runtime_key, s.tied_to_owner);
  if (!network) return std::unexpected(network.error());
  session->network_ = std::move(*network);
  s.machine.nic = session->network_->nic();
  for (const auto& forward : s.network.forwards) {
    auto listener = shim::start_publish_listener(s.sockets.vsock, forward);
    if (!listener) return std::unexpected(listener.error());
    session->forwarders_.push_back(std::move(*listener));
  }
  if (s.mediation) {
    auto listener = shim::start_mediation_listener(s.sockets.vsock, *s.mediation);
    if (!listener) return std::unexpected(listener.error());
    session->forwarders_.push_back(std::move(*listener));
    session->mediation_listening_ = true;
  }

  s.machine.vhost_user_vsock_socket = s.sockets.vhost_user;
  s.machine.qmp_socket = s.sockets.qmp;
  ::unlink(s.sockets.qmp.c_str());
  if (s.console_input) {
    s.machine.serial_socket = s.sockets.serial_in;
    ::unlink(s.sockets.serial_in.c_str());
  }
  session->argv_ = build_qemu_argv(s.machine);

  UniqueFd log(::open(s.qemu_log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!log) return fail_errno("open " + s.qemu_log.string(), errno);
  SpawnOptions options;
  options.stdout_fd = log.get();
  options.stderr_fd = log.get();
  if (s.tied_to_owner) options.parent_death_signal = SIGKILL;
  auto qemu = spawn_process(session->argv_, options);
  if (!qemu) {
    if (qemu.error().code == ErrorCode::not_found) {
      return fail(ErrorCode::host_unavailable, s.machine.qemu_binary + " is not installed: apt-get install qemu-system-x86");
    }
    return std::unexpected(qemu.error());
  }
  session->qemu_ = std::move(*qemu);
  return session;
}

VmSession::~VmSession() {
  if (qemu_.pid() > 0 && !qemu_.exited()) terminate(2s);
  sever();
}

void VmSession::sever() {
  // The device first: a publish connection still waiting for the guest's
  // handshake then fails at once instead of holding up the listeners' stop.
  if (device_) device_->stop();
  device_.reset();
  forwarders_.clear();  // each stops its listener and cuts its connections
  mediation_listening_ = false;
  if (network_) network_->detach();
  result_channel_.close();
  control_channel_.close();
  remove_sockets(spec_.sockets);
}

supervisor::RuntimeNetwork VmSession::runtime_network() const {
  return network_ ? network_->record() : supervisor::RuntimeNetwork{spec_.network, spec_.runtime_key, 0, {}};
}

Result<void> VmSession::wait_until_running(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!device_->front_end_connected()) {
    if (auto status = qemu_.wait(0ms)) {
      return fail(ErrorCode::internal, "QEMU exited at start-up (" + status->describe() + "); see " + spec_.qemu_log.string());
    }
    if (Clock::now() >= deadline) return fail(ErrorCode::internal, "QEMU did not connect to the vsock device in time");
    std::this_thread::sleep_for(5ms);
  }
  return {};
}

VmOutcome VmSession::wait_for_result(std::optional<std::chrono::milliseconds> timeout) {
  VmOutcome outcome;
  std::optional<Clock::time_point> deadline;
  if (timeout) deadline = Clock::now() + *timeout;
  UniqueFd signals = termination_signals();

  enum Slot { kQemu, kSignals, kResult, kSlots };
  while (!outcome.result_json && !outcome.qemu_exit) {
    pollfd fds[kSlots] = {};
    fds[kQemu] = {qemu_.pidfd(), POLLIN, 0};
    fds[kSignals] = {signals.get(), POLLIN, 0};        // -1 (ignored by poll) without a signalfd
    fds[kResult] = {result_channel_.poll_fd(), POLLIN, 0};  // -1 once the one connection ended
    int rc = ::poll(fds, kSlots, poll_timeout_ms(deadline));
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) {
      outcome.timed_out = true;
      outcome.qemu_exit = terminate(2s);
      outcome.detail = fmt::format("timed out after {} s; VM terminated", timeout->count() / 1000);
      return outcome;
    }
    if (fds[kSignals].revents) {
      outcome.interrupted = true;
      outcome.qemu_exit = terminate(2s);
      outcome.detail = "interrupted by a signal to the supervisor; VM terminated";
      return outcome;
    }
    if (fds[kResult].revents) {
      result_channel_.on_readable();
      if (result_channel_.phase() == shim::GuestChannel::Phase::complete) {
        outcome.result_json = std::move(result_channel_.received());
      } else if (result_channel_.phase() == shim::GuestChannel::Phase::failed) {
        outcome.detail = "result delivery failed: " + result_channel_.error();
      }
      continue;
    }
    if (fds[kQemu].revents) outcome.qemu_exit = qemu_.wait();
  }

  if (outcome.result_json && !outcome.qemu_exit) {
    // The guest powers off right after delivering; give it time, then insist.
    outcome.qemu_exit = qemu_.wait(15s);
    if (!outcome.qemu_exit) {
      outcome.qemu_exit = terminate(2s);
      outcome.detail = "guest did not power off after delivering its result; VM terminated";
    }
  }
  return outcome;
}

std::optional<ExitStatus> VmSession::terminate(std::chrono::milliseconds grace) {
  if (qemu_.pid() <= 0) return std::nullopt;
  if (auto status = qemu_.wait(0ms)) return status;
  qemu_.signal(SIGTERM);
  if (auto status = qemu_.wait(grace)) return status;
  qemu_.signal(SIGKILL);
  return qemu_.wait();
}

}  // namespace microagent::linux_kvm
