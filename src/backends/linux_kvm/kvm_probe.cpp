#include "backends/linux_kvm/kvm_probe.hpp"

#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "backends/linux_kvm/kvm_cpuid.hpp"
#include "backends/linux_kvm/kvm_probe_guest.hpp"
#include "common/unique_fd.hpp"

namespace microagent::linux_kvm {
namespace {

using namespace probe_guest;

constexpr std::chrono::milliseconds kGuestTimeout{500};

std::string errno_text(const char* what, int err) {
  return fmt::format("{} failed: {}", what, std::strerror(err));
}

// Everything the probe VM owns. Shared with the vCPU thread so that a thread
// stuck in KVM_RUN past every deadline can be detached safely.
struct ProbeVm {
  UniqueFd kvm, vm, vcpu;
  void* mem = MAP_FAILED;
  void* run = MAP_FAILED;
  std::size_t run_size = 0;

  ProbeVm() = default;
  ProbeVm(const ProbeVm&) = delete;
  ProbeVm& operator=(const ProbeVm&) = delete;
  ~ProbeVm() {
    if (run != MAP_FAILED) ::munmap(run, run_size);
    if (mem != MAP_FAILED) ::munmap(mem, kMemSize);
  }
  kvm_run* run_area() const { return static_cast<kvm_run*>(run); }
  std::uint8_t* guest(std::uint64_t gpa) const { return static_cast<std::uint8_t*>(mem) + gpa; }
};

struct RunState {
  std::shared_ptr<ProbeVm> vm;
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  std::atomic<bool> kicked{false};
  bool ok = false;
  std::string detail;
  double ms = 0;
};

void set_segment(kvm_segment& s, std::uint16_t selector, std::uint8_t type, bool code) {
  s.base = 0;
  s.limit = 0xffffffff;
  s.selector = selector;
  s.type = type;
  s.present = 1;
  s.dpl = 0;
  s.s = 1;
  s.l = code ? 1 : 0;   // 64-bit code segment
  s.db = code ? 0 : 1;  // D must be 0 when L is 1
  s.g = 1;
  s.avl = 0;
  s.unusable = 0;
}

// Hands the vCPU exactly what the host KVM supports (kvm_cpuid.hpp).
std::optional<std::string> set_cpuid(const ProbeVm& vm, bool& xsave) {
  return set_supported_cpuid(vm.kvm.get(), vm.vcpu.get(), xsave);
}

// Page tables, GDT, code; then registers for 64-bit ring 0 at kCode.
std::optional<std::string> load_guest(const ProbeVm& vm, bool xsave) {
  auto put64 = [&](std::uint64_t gpa, std::uint64_t value) { std::memcpy(vm.guest(gpa), &value, 8); };
  put64(kPml4, kPdpt | kPteP | kPteRw);
  put64(kPdpt, kPd | kPteP | kPteRw);
  put64(kPd, 0 | kPteP | kPteRw | kPtePs);  // 2 MiB page at 0
  put64(kGdt + 0, 0);
  put64(kGdt + 8, 0x00af9a000000ffff);   // code: P, DPL 0, S, type 0xa (exec/read), L, G
  put64(kGdt + 16, 0x00cf92000000ffff);  // data: P, DPL 0, S, type 0x2 (read/write), D/B, G
  std::memcpy(vm.guest(kCode), kGuestCode, sizeof(kGuestCode));

  kvm_sregs sregs{};
  if (::ioctl(vm.vcpu.get(), KVM_GET_SREGS, &sregs) < 0) return errno_text("KVM_GET_SREGS", errno);
  set_segment(sregs.cs, 8, 0xb, true);  // type with the accessed bit, as the CPU would load it
  for (kvm_segment* s : {&sregs.ds, &sregs.es, &sregs.fs, &sregs.gs, &sregs.ss}) set_segment(*s, 16, 0x3, false);
  sregs.gdt.base = kGdt;
  sregs.gdt.limit = 3 * 8 - 1;
  sregs.cr3 = kPml4;
  sregs.cr4 = kCr4Pae | kCr4Osfxsr | kCr4Osxmmexcpt | (xsave ? kCr4Osxsave : 0);
  sregs.cr0 = kCr0Pe | kCr0Mp | kCr0Et | kCr0Ne | kCr0Pg;
  sregs.efer = kEferLme | kEferLma;
  // TR and LDTR keep KVM's reset values (TR: busy TSS, usable in long mode).
  if (::ioctl(vm.vcpu.get(), KVM_SET_SREGS, &sregs) < 0) return errno_text("KVM_SET_SREGS (long mode)", errno);

  kvm_regs regs{};
  regs.rflags = 0x2;  // bit 1 is reserved and must be set
  regs.rip = kCode;
  regs.rsp = kStackTop;
  regs.rdi = kScratch;
  regs.rsi = xsave ? 1 : 0;
  if (::ioctl(vm.vcpu.get(), KVM_SET_REGS, &regs) < 0) return errno_text("KVM_SET_REGS", errno);
  return std::nullopt;
}

std::string rip_text(const ProbeVm& vm) {
  kvm_regs regs{};
  if (::ioctl(vm.vcpu.get(), KVM_GET_REGS, &regs) < 0) return "rip unknown";
  return fmt::format("rip {:#x}", regs.rip);
}

const char* internal_suberror_name(std::uint32_t suberror) {
  switch (suberror) {
    case KVM_INTERNAL_ERROR_EMULATION: return "emulation failure";
    case KVM_INTERNAL_ERROR_SIMUL_EX: return "exception during exception delivery";
    case KVM_INTERNAL_ERROR_DELIVERY_EV: return "event delivery failed";
    case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON: return "unexpected exit reason";
    default: return "unknown";
  }
}

// The KVM_RUN loop, on its own thread. Fills state.ok/detail; true = reached kMarkerDone.
void run_vcpu(RunState& state) {
  const ProbeVm& vm = *state.vm;
  kvm_run* run = vm.run_area();
  int marker = 0;  // last step number the guest reported
  auto step = [&] { return kStepAfterMarker[marker < 5 ? marker : 5]; };
  auto finish = [&](bool ok, std::string detail) {
    state.ok = ok;
    state.detail = std::move(detail);
  };
  auto start = std::chrono::steady_clock::now();
  for (int exits = 0;; ++exits) {
    if (exits > 64) {
      finish(false, fmt::format("ring-0 probe made more than 64 exits without finishing (at {})", step()));
      break;
    }
    if (::ioctl(vm.vcpu.get(), KVM_RUN, 0) < 0) {
      int err = errno;
      if (err == EINTR || err == EAGAIN) {
        if (state.kicked.load()) {
          finish(false, fmt::format("ring-0 probe did not finish in {} ms (stuck at {}, {})",
                                    kGuestTimeout.count(), step(), rip_text(vm)));
          break;
        }
        continue;  // some other signal; run on
      }
      finish(false, errno_text("KVM_RUN", err));
      break;
    }
    if (run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT && run->io.port == kMarkerPort &&
        run->io.size == 1) {
      std::uint8_t value = *(reinterpret_cast<const std::uint8_t*>(run) + run->io.data_offset);
      if (value == kMarkerDone) {
        finish(true, "");
        break;
      }
      if (value == kMarkerBadValue) {
        finish(false, fmt::format("ring-0 probe computed a wrong result after {}", step()));
        break;
      }
      marker = value;
      continue;
    }
    switch (run->exit_reason) {
      case KVM_EXIT_INTERNAL_ERROR:
        finish(false, fmt::format("KVM internal error, suberror {} ({}) at {}, {}", run->internal.suberror,
                                  internal_suberror_name(run->internal.suberror), step(), rip_text(vm)));
        break;
      case KVM_EXIT_SHUTDOWN:
        finish(false, fmt::format("guest triple fault (KVM_EXIT_SHUTDOWN) at {}, {}", step(), rip_text(vm)));
        break;
      case KVM_EXIT_FAIL_ENTRY:
        finish(false, fmt::format("VM entry failed, hardware reason {:#x}",
                                  static_cast<unsigned long long>(run->fail_entry.hardware_entry_failure_reason)));
        break;
      case KVM_EXIT_HLT:
        finish(false, fmt::format("guest halted early at {}, {}", step(), rip_text(vm)));
        break;
      default:
        finish(false, fmt::format("unexpected exit reason {} at {}, {}", run->exit_reason, step(), rip_text(vm)));
        break;
    }
    break;
  }
  state.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

void ignore_signal(int) {}

// The signal that kicks a vCPU thread out of KVM_RUN. Its handler must not
// use SA_RESTART, or KVM_RUN would be restarted instead of returning EINTR.
constexpr int kKickSignal = SIGUSR1;
constexpr int kKickRounds = 100;  // one every 10 ms

// Runs the vCPU on a thread with a deadline. Returns the filled state.
std::shared_ptr<RunState> run_with_deadline(std::shared_ptr<ProbeVm> vm) {
  // One probe at a time: the kick signal's disposition is process-wide.
  static std::mutex probe_mutex;
  std::lock_guard probe_lock(probe_mutex);

  struct sigaction action {};
  struct sigaction previous {};
  action.sa_handler = ignore_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;
  ::sigaction(kKickSignal, &action, &previous);

  auto state = std::make_shared<RunState>();
  state->vm = std::move(vm);
  std::thread thread([state] {
    // The thread must receive the kick even if the caller blocked it.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, kKickSignal);
    ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    run_vcpu(*state);
    std::lock_guard lock(state->mutex);
    state->done = true;
    state->cv.notify_all();
  });

  std::unique_lock lock(state->mutex);
  if (!state->cv.wait_for(lock, kGuestTimeout, [&] { return state->done; })) {
    state->kicked.store(true);
    kvm_run* run = state->vm->run_area();
    // Kick until the thread notices: immediate_exit covers the window where
    // the signal lands between two KVM_RUN calls (KVM API, "immediate_exit").
    for (int i = 0; i < kKickRounds && !state->done; ++i) {
      std::atomic_ref<std::uint8_t>(run->immediate_exit).store(1);
      ::pthread_kill(thread.native_handle(), kKickSignal);
      state->cv.wait_for(lock, std::chrono::milliseconds(10), [&] { return state->done; });
    }
  }
  bool done = state->done;
  lock.unlock();
  if (done) {
    thread.join();
    ::sigaction(kKickSignal, &previous, nullptr);
  } else {
    // Stuck in the kernel past every kick: leave it, with the no-op handler
    // still installed, owning its VM through `state`.
    thread.detach();
    std::lock_guard relock(state->mutex);
    state->detail = fmt::format("vCPU thread did not leave KVM_RUN within {} ms of being kicked", kKickRounds * 10);
  }
  return state;
}

}  // namespace

KvmProbe probe_kvm(const std::filesystem::path& device) {
  KvmProbe probe;
  std::error_code ec;
  probe.device_present = std::filesystem::exists(device, ec);
  if (!probe.device_present) {
    probe.detail = fmt::format("{} does not exist", device.string());
    return probe;
  }
  auto vm = std::make_shared<ProbeVm>();
  vm->kvm = UniqueFd(::open(device.c_str(), O_RDWR | O_CLOEXEC));
  if (!vm->kvm) {
    probe.detail = fmt::format("cannot open {}: {}", device.string(), std::strerror(errno));
    return probe;
  }
  probe.accessible = true;
  probe.api_version = ::ioctl(vm->kvm.get(), KVM_GET_API_VERSION, 0);
  if (probe.api_version != KVM_API_VERSION) {
    probe.detail = probe.api_version < 0
                       ? errno_text("KVM_GET_API_VERSION", errno)
                       : fmt::format("KVM API version {} (expected {})", probe.api_version, KVM_API_VERSION);
    return probe;
  }

  auto fail = [&](std::string detail) {
    probe.detail = std::move(detail);
    return probe;
  };
  vm->vm = UniqueFd(::ioctl(vm->kvm.get(), KVM_CREATE_VM, 0));
  if (!vm->vm) return fail(errno_text("KVM_CREATE_VM", errno));
  // Where KVM on Intel keeps the real-mode TSS (needed only without
  // unrestricted guest); QEMU and kvmtool put it just below 4 GiB. The probe
  // never enters real mode, so a refusal here does not matter.
  (void)::ioctl(vm->vm.get(), KVM_SET_TSS_ADDR, 0xfffbd000ul);
  vm->mem = ::mmap(nullptr, kMemSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (vm->mem == MAP_FAILED) return fail(errno_text("mmap of guest memory", errno));
  kvm_userspace_memory_region region{};
  region.slot = 0;
  region.guest_phys_addr = 0;
  region.memory_size = kMemSize;
  region.userspace_addr = reinterpret_cast<std::uint64_t>(vm->mem);
  if (::ioctl(vm->vm.get(), KVM_SET_USER_MEMORY_REGION, &region) < 0)
    return fail(errno_text("KVM_SET_USER_MEMORY_REGION", errno));
  vm->vcpu = UniqueFd(::ioctl(vm->vm.get(), KVM_CREATE_VCPU, 0));
  if (!vm->vcpu) return fail(errno_text("KVM_CREATE_VCPU", errno));
  int run_size = ::ioctl(vm->kvm.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
  if (run_size < static_cast<int>(sizeof(kvm_run))) return fail(errno_text("KVM_GET_VCPU_MMAP_SIZE", errno));
  vm->run_size = static_cast<std::size_t>(run_size);
  vm->run = ::mmap(nullptr, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vcpu.get(), 0);
  if (vm->run == MAP_FAILED) return fail(errno_text("mmap of kvm_run", errno));
  bool xsave = false;
  if (auto err = set_cpuid(*vm, xsave)) return fail(*err);
  if (auto err = load_guest(*vm, xsave)) return fail(*err);
  probe.vm_created = true;

  auto state = run_with_deadline(std::move(vm));
  std::lock_guard lock(state->mutex);
  probe.ring0_ok = state->ok;
  probe.probe_ms = state->ms;
  probe.detail = state->ok ? fmt::format("ring-0 probe ran in {:.2f} ms", state->ms) : state->detail;
  return probe;
}

AccelChoice decide_accel(const KvmProbe& probe, std::string_view override_value,
                         const std::filesystem::path& device) {
  AccelChoice choice;
  choice.probe = probe;
  const std::string dev = device.string();
  constexpr std::string_view kTcgCost = "using tcg (software emulation, ~10x slower)";

  std::string why;  // what the probe found, as a clause
  if (probe.ring0_ok) {
    why = fmt::format("{} runs ring-0 guest code ({})", dev, probe.detail);
  } else if (!probe.device_present) {
    why = fmt::format("{} does not exist (no KVM module loaded, or no hardware virtualization)", dev);
  } else if (!probe.accessible) {
    why = fmt::format("{} is not accessible ({}): run as root or join the kvm group", dev, probe.detail);
  } else if (!probe.vm_created) {
    why = fmt::format("{} cannot create a probe VM ({})", dev, probe.detail);
  } else {
    why = fmt::format(
        "{} is present but cannot run ring-0 guest code ({}): software PVM module or nested KVM without "
        "hardware support",
        dev, probe.detail);
  }

  std::string note;  // a bad override value is ignored, but said
  if (override_value == "kvm") {
    choice.accel = "kvm";
    choice.cpu = "host";
    choice.reason = probe.ring0_ok
                        ? fmt::format("kvm: forced by {}=kvm; {}", kAccelOverrideEnv, why)
                        : fmt::format("kvm: forced by {}=kvm although the probe failed: {}; guests may not boot",
                                      kAccelOverrideEnv, why);
    return choice;
  }
  if (override_value == "tcg") {
    choice.accel = "tcg";
    choice.cpu = "max";
    choice.reason = fmt::format("tcg: forced by {}=tcg ({}); {}", kAccelOverrideEnv, why, kTcgCost);
    return choice;
  }
  if (!override_value.empty())
    note = fmt::format(" ({}={} ignored: expected kvm or tcg)", kAccelOverrideEnv, override_value);

  if (probe.ring0_ok) {
    choice.accel = "kvm";
    choice.cpu = "host";
    choice.reason = fmt::format("kvm: {}{}", why, note);
  } else {
    choice.accel = "tcg";
    choice.cpu = "max";
    choice.reason = fmt::format("kvm: {}; {}{}", why, kTcgCost, note);
  }
  return choice;
}

AccelChoice choose_accel(const std::filesystem::path& device) {
  const char* value = std::getenv(std::string(kAccelOverrideEnv).c_str());
  return decide_accel(probe_kvm(device), value ? std::string_view(value) : std::string_view(), device);
}

}  // namespace microagent::linux_kvm
