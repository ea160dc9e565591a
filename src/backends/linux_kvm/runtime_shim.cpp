#include "backends/linux_kvm/runtime_shim.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <vector>

#include <fmt/core.h>

#include "common/atomic_file.hpp"
#include "common/clock.hpp"
#include "common/guest_wire.hpp"
#include "common/paths.hpp"
#include "protocol/json_codec.hpp"
#include "shim/final_state.hpp"
#include "shim/readiness_tracker.hpp"
#include "supervisor/runtime_record.hpp"
#include "supervisor/runtime_store.hpp"

namespace microagent::linux_kvm {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

json machine_to_json(const QemuMachineSpec& m) {
  json disks = json::array();
  for (const auto& d : m.disks) disks.push_back({{"path", d.path.string()}, {"format", d.format}, {"readOnly", d.read_only}});
  return {{"qemuBinary", m.qemu_binary}, {"accel", m.accel},         {"cpu", m.cpu},
          {"memoryMiB", m.memory_mib},   {"cpuCount", m.cpu_count},  {"kernel", m.kernel.string()},
          {"initrd", m.initrd.string()}, {"cmdline", m.kernel_cmdline}, {"serialLog", m.serial_log.string()},
          {"disks", disks}};
}

QemuMachineSpec machine_from_json(const json& j) {
  QemuMachineSpec m;
  m.qemu_binary = j.at("qemuBinary");
  m.accel = j.at("accel");
  m.cpu = j.at("cpu");
  m.memory_mib = j.at("memoryMiB");
  m.cpu_count = j.at("cpuCount");
  m.kernel = j.at("kernel").get<std::string>();
  m.initrd = j.at("initrd").get<std::string>();
  m.kernel_cmdline = j.at("cmdline");
  m.serial_log = j.at("serialLog").get<std::string>();
  for (const auto& d : j.at("disks")) {
    m.disks.push_back({d.at("path").get<std::string>(), d.at("format"), d.at("readOnly")});
  }
  return m;
}

json sockets_to_json(const VmSockets& s) {
  return {{"vhostUser", s.vhost_user.string()}, {"vsock", s.vsock.string()}, {"qmp", s.qmp.string()},
          {"serialIn", s.serial_in.string()}};
}

protocol::Event event_for(const ShimLaunch& launch, protocol::State state, std::string detail) {
  protocol::Event e;
  e.identity = launch.identity;
  e.state = state;
  e.observed_at = rfc3339_now();
  e.detail = std::move(detail);
  return e;
}

std::string tail_of(const std::filesystem::path& path, std::size_t bytes) {
  auto text = read_file(path);
  if (!text) return {};
  return text->size() > bytes ? text->substr(text->size() - bytes) : *text;
}

UniqueFd shim_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) sigaddset(&set, sig);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  return UniqueFd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
}

// What the shim records when passt (user networking) exits under a running VM.
std::string passt_degraded_detail(pid_t qemu_pid) {
  return fmt::format("degraded: passt (user networking) exited; VM {} keeps running without a network "
                     "until the workspace is halted and started again", qemu_pid);
}

class Shim {
 public:
  Shim(ShimLaunch launch, supervisor::RuntimeStore store) : launch_(std::move(launch)), store_(std::move(store)) {}

  int run() {
    signals_ = shim_signals();
    auto session = VmSession::launch(launch_.vm);
    if (!session) return fail_start("VM failed to start: " + session.error().message);
    session_ = std::move(*session);
    runtime_.runtime_id = launch_.identity.runtime_id;
    runtime_.shim_pid = ::getpid();
    runtime_.qemu_pid = session_->qemu_pid();
    runtime_.qemu_argv = session_->qemu_argv();
    runtime_.accel = launch_.vm.machine.accel;
    runtime_.accel_reason = launch_.accel_reason;
    runtime_.kernel_path = launch_.vm.machine.kernel.string();
    runtime_.initrd_path = launch_.vm.machine.initrd.string();
    runtime_.kernel_cmdline = launch_.vm.machine.kernel_cmdline;
    runtime_.vsock_device = "vhost-user (microagent)";
    runtime_.sockets = runtime_sockets(launch_.vm.sockets);
    runtime_.network = session_->runtime_network();
    runtime_.started_at = rfc3339_now();
    supervisor::write_runtime_record(store_, runtime_);
    watch_passt(runtime_.network ? runtime_.network->passt_pid : 0);
    if (auto running = session_->wait_until_running(10s); !running) {
      session_->terminate(2s);
      return fail_start(running.error().message);
    }
    if (launch_.vm.mediation) {
      // The host end listens and (when required) the target answered before boot.
      readiness_.mediation_ready = {session_->mediation_listening(), rfc3339_now(),
                                    "vsock port " + std::to_string(launch_.vm.mediation->port) + " -> " +
                                        launch_.vm.mediation->target,
                                    ""};
    }
    store_.write_document(store_.readiness_path(), shim::readiness_to_json(readiness_));
    store_.record(event_for(launch_, protocol::State::running,
                            fmt::format("VM running (pid {}, accel {})", session_->qemu_pid(), launch_.vm.machine.accel)));
    loop();
    return finish();
  }

 private:
  int fail_start(const std::string& why) {
    store_.record(event_for(launch_, protocol::State::failed, why));
    return 1;
  }

  // Nothing here waits on the guest: the result and control channels are
  // read as bytes arrive, and each accepts one connection per boot (shim/guest_channel.hpp).
  void loop() {
    enum Slot { kQemu, kSignals, kResult, kControl, kPasst, kSlots };
    while (!qemu_exit_) {
      pollfd fds[kSlots] = {};
      fds[kQemu] = {session_->qemu().pidfd(), POLLIN, 0};
      fds[kSignals] = {signals_.get(), POLLIN, 0};
      // poll ignores the -1 of a channel whose one connection has ended.
      fds[kResult] = {session_->result_channel().poll_fd(), POLLIN, 0};
      fds[kControl] = {session_->control_channel().poll_fd(), POLLIN, 0};
      fds[kPasst] = {passt_.get(), POLLIN, 0};
      if (::poll(fds, kSlots, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (fds[kSignals].revents) on_signal();
      if (fds[kResult].revents) on_result();
      if (fds[kControl].revents) on_control();
      if (fds[kQemu].revents) qemu_exit_ = session_->qemu().wait();
      if (fds[kPasst].revents && !qemu_exit_) on_passt_exit();
    }
  }

  void on_signal() {
    signalfd_siginfo info{};
    while (::read(signals_.get(), &info, sizeof info) == sizeof info) {
      if (info.ssi_signo == SIGUSR1) {
        // Quarantine: sever every host-side endpoint now; the VM is stopped next.
        passt_.reset();  // sever stops passt itself: that is not a degradation
        session_->sever();
        readiness_.mediation_ready.ready = false;
        store_.write_document(store_.readiness_path(), shim::readiness_to_json(readiness_));
        runtime_.severed_at = rfc3339_now();
        supervisor::write_runtime_record(store_, runtime_);
      } else if (info.ssi_signo == SIGTERM || info.ssi_signo == SIGINT) {
        qemu_exit_ = session_->terminate(3s);
      }
    }
  }

  void on_result() {
    auto& channel = session_->result_channel();
    channel.on_readable();
    if (channel.phase() == shim::GuestChannel::Phase::failed) {
      fmt::print(stderr, "result delivery failed: {}\n", channel.error());
      return;
    }
    if (channel.phase() != shim::GuestChannel::Phase::complete) return;
    auto parsed = guest_result_from_json(channel.received());
    if (!parsed) {
      fmt::print(stderr, "guest sent a malformed result: {}\n", parsed.error().message);
      return;
    }
    result_ = json::parse(guest_result_to_json(*parsed));
    store_.write_result(*result_);
    readiness_.result_ready = {true, rfc3339_now(), "result.json written", ""};
    store_.write_document(store_.readiness_path(), shim::readiness_to_json(readiness_));
  }

  // Readiness lines from guest init's one control connection.
  void on_control() {
    auto& channel = session_->control_channel();
    channel.on_readable();
    if (channel.phase() == shim::GuestChannel::Phase::failed) {
      fmt::print(stderr, "control channel: {}\n", channel.error());
    }
    auto& pending = channel.received();
    std::size_t eol;
    bool changed = false;
    while ((eol = pending.find('\n')) != std::string::npos) {
      if (shim::apply_readiness_line(pending.substr(0, eol), readiness_, rfc3339_now())) changed = true;
      pending.erase(0, eol + 1);
    }
    if (changed) store_.write_document(store_.readiness_path(), shim::readiness_to_json(readiness_));
  }

  // passt is the session's child (VmNetwork owns and reaps it); a pidfd of our
  // own only tells us when it is gone.
  void watch_passt(pid_t passt_pid) {
    if (passt_pid <= 0) return;
    passt_.reset(static_cast<int>(::syscall(SYS_pidfd_open, passt_pid, 0)));
  }

  // passt died under a running VM: the guest lost its network, nothing else.
  // Recorded as a running event whose detail starts with "degraded: " and in
  // runtime.json "degraded" (docs/lifecycle.md), so inspect shows it.
  void on_passt_exit() {
    passt_.reset();
    // passt --one-off ends when QEMU closes its socket, which QEMU does while it
    // exits, a moment before its pidfd says so: an ending VM is no degradation.
    pollfd qemu{session_->qemu().pidfd(), POLLIN, 0};
    if (::poll(&qemu, 1, 500) > 0) return;
    const std::string detail = passt_degraded_detail(session_->qemu_pid());
    runtime_.degraded.push_back({"passt", rfc3339_now(), detail});
    supervisor::write_runtime_record(store_, runtime_);
    store_.record(event_for(launch_, protocol::State::running, detail));
  }

  int finish() {
    shim::VmExit exit;
    std::string intent_detail;
    if (auto intent = store_.read_document(store_.intent_path()); intent && *intent && (**intent).is_object()) {
      const auto& doc = **intent;
      if (doc.contains("intent") && doc["intent"].is_string()) exit.intent = shim::intent_from_string(doc["intent"]);
      if (doc.contains("detail") && doc["detail"].is_string()) intent_detail = doc["detail"];
    }
    exit.qemu_status = qemu_exit_;
    exit.guest_panicked = shim::serial_log_shows_panic(tail_of(launch_.vm.machine.serial_log, 65536));
    exit.result_delivered = result_.has_value();
    session_.reset();  // QEMU has exited; tear down the device and every socket
    const auto final_state = shim::classify_vm_exit(exit);
    readiness_.guest_ready.ready = readiness_.shell_ready.ready = readiness_.mediation_ready.ready = false;
    store_.write_document(store_.readiness_path(), shim::readiness_to_json(readiness_));
    runtime_.qemu_exited = true;
    runtime_.exited_at = rfc3339_now();
    if (qemu_exit_) runtime_.qemu_exit = qemu_exit_->describe();
    supervisor::write_runtime_record(store_, runtime_);
    auto event = event_for(launch_, final_state.state,
                           intent_detail.empty() ? final_state.detail : final_state.detail + "; " + intent_detail);
    if (result_) event.result = *result_;
    store_.record(event);
    return 0;
  }

  ShimLaunch launch_;
  supervisor::RuntimeStore store_;
  UniqueFd signals_;
  std::unique_ptr<VmSession> session_;
  UniqueFd passt_;  // pidfd while passt is watched
  protocol::Readiness readiness_;
  std::optional<json> result_;
  std::optional<ExitStatus> qemu_exit_;
  supervisor::RuntimeRecord runtime_;
};

}  // namespace

json shim_launch_to_json(const ShimLaunch& l) {
  return {{"identity", protocol::to_json(l.identity)},
          {"stateDir", l.state_dir},
          {"machine", machine_to_json(l.vm.machine)},
          {"sockets", sockets_to_json(l.vm.sockets)},
          {"qemuLog", l.vm.qemu_log.string()},
          {"resultPort", l.vm.result_port},
          {"maxResultBytes", l.vm.max_result_bytes},
          {"accelReason", l.accel_reason},
          {"network", net::assignment_to_json(l.vm.network)},
          {"runtimeKey", l.vm.runtime_key},
          {"mediation", l.vm.mediation ? json{{"port", l.vm.mediation->port}, {"target", l.vm.mediation->target},
                                              {"required", l.vm.mediation->required}}
                                       : json(nullptr)}};
}

Result<ShimLaunch> shim_launch_from_json(const json& j) {
  try {
    ShimLaunch l;
    auto identity = protocol::identity_from_json(j.at("identity"));
    if (!identity) return std::unexpected(identity.error());
    l.identity = *identity;
    l.state_dir = j.at("stateDir");
    l.vm.machine = machine_from_json(j.at("machine"));
    const auto& s = j.at("sockets");
    l.vm.sockets = {s.at("vhostUser").get<std::string>(), s.at("vsock").get<std::string>(),
                    s.at("qmp").get<std::string>(), s.at("serialIn").get<std::string>()};
    l.vm.qemu_log = j.at("qemuLog").get<std::string>();
    l.vm.result_port = j.at("resultPort");
    l.vm.max_result_bytes = j.at("maxResultBytes");
    l.vm.listen_control = true;
    l.vm.console_input = true;
    l.accel_reason = j.value("accelReason", std::string());
    if (j.contains("network")) l.vm.network = net::assignment_from_json(j["network"]);
    l.vm.runtime_key = j.value("runtimeKey", std::string());
    // The shim is the VM's watchdog: if it dies, even by SIGKILL, QEMU dies with it
    // and passt with QEMU, so no VM runs unsupervised; the next command records why.
    l.vm.tied_to_owner = true;
    if (j.contains("mediation") && j["mediation"].is_object()) {
      const auto& m = j["mediation"];
      l.vm.mediation = protocol::MediationSpec{m.at("port").get<std::uint32_t>(), m.at("target").get<std::string>(),
                                               m.value("required", true)};
    }
    return l;
  } catch (const json::exception& e) {
    return fail(ErrorCode::invalid_request, std::string("malformed shim launch document: ") + e.what());
  }
}

int run_runtime_shim(const std::string& launch_text) {
  auto j = json::parse(launch_text, nullptr, false);
  if (j.is_discarded()) {
    fmt::print(stderr, "microagent shim: launch document is not JSON\n");
    return 2;
  }
  auto launch = shim_launch_from_json(j);
  if (!launch) {
    fmt::print(stderr, "microagent shim: {}\n", launch.error().message);
    return 2;
  }
  auto id = protocol::RuntimeId::parse(launch->identity.runtime_id);
  if (!id) {
    fmt::print(stderr, "microagent shim: {}\n", id.error().message);
    return 2;
  }
  supervisor::RuntimeStore store(launch->state_dir, std::move(*id));
  Shim shim(std::move(*launch), std::move(store));
  return shim.run();
}

Result<pid_t> spawn_runtime_shim(const ShimLaunch& launch, const std::filesystem::path& log) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return fail_errno("pipe", errno);
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  UniqueFd log_fd(::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!log_fd) return fail_errno("open " + log.string(), errno);
  SpawnOptions options;
  options.stdin_fd = read_end.get();
  options.stdout_fd = log_fd.get();
  options.stderr_fd = log_fd.get();
  options.new_session = true;  // outlives the supervisor and the CLI's terminal
  // The shim is this very executable in shim mode, wherever it was started from.
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return fail_errno("readlink /proc/self/exe", ec.value());
  auto child = spawn_process({self.string(), "shim"}, options);
  if (!child) return std::unexpected(child.error());
  read_end.reset();
  const std::string text = shim_launch_to_json(launch).dump();
  if (::write(write_end.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    return fail_errno("write shim launch document", errno);
  }
  return child->pid();
}

}  // namespace microagent::linux_kvm
