#include "backends/linux_kvm/doctor_checks.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include <fmt/core.h>

#include "common/atomic_file.hpp"
#include "common/paths.hpp"
#include "common/unique_fd.hpp"
#include "image/kernel_artifact.hpp"
#include "net/passt_binary.hpp"

namespace microagent::linux_kvm {
namespace {

using protocol::CheckStatus;

constexpr std::string_view kQemu = "qemu-system-x86_64";
// Devices every guest needs on `microvm` (DESIGN.md section 4): the root and
// data disks, and the vsock device microagent serves itself where the kernel
// has no vhost-vsock.
constexpr std::string_view kNeededDevices[] = {"virtio-blk-device", "vhost-user-vsock-device"};

DoctorCheck make(std::string name, CheckStatus status, std::string detail, std::string fix = {}) {
  return DoctorCheck{std::move(name), status, std::move(detail), std::move(fix)};
}

// `-device help` lists `name "virtio-blk-device", bus virtio-bus`.
bool lists_device(std::string_view help, std::string_view device) {
  return help.find(fmt::format("name \"{}\"", device)) != std::string_view::npos;
}

// `-machine help` lists "microvm              microvm (i386)" at the start of a line.
bool lists_machine(std::string_view help, std::string_view machine) {
  std::istringstream lines{std::string(help)};
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(std::string(machine) + " ", 0) == 0) return true;
  }
  return false;
}

// Runs `<qemu> <flag> help`; the output, or why it could not be had.
Result<std::string> qemu_help(const DoctorContext& context, const std::string& qemu, const std::string& flag) {
  auto output = context.run({qemu, flag, "help"});
  if (!output) return std::unexpected(output.error());
  if (!output->status.success()) {
    return fail(ErrorCode::host_unavailable,
                fmt::format("{} {} help failed ({}): {}", qemu, flag, output->status.describe(), output->err));
  }
  return output->out;
}

bool accessible_rw(const std::filesystem::path& path) { return ::access(path.c_str(), R_OK | W_OK) == 0; }

// Tries FICLONE between two fresh files in `dir`: the only reliable answer to
// "does this filesystem share extents" (ext4 says EOPNOTSUPP; xfs and btrfs clone).
Result<bool> reflink_works(const std::filesystem::path& dir) {
  std::string src_name = (dir / ".doctor-reflink-XXXXXX").string();
  UniqueFd src(::mkstemp(src_name.data()));
  if (!src) return fail_errno("create a file in " + dir.string(), errno);
  std::string dst_name = (dir / ".doctor-reflink-XXXXXX").string();
  UniqueFd dst(::mkstemp(dst_name.data()));
  const int dst_errno = errno;
  auto cleanup = [&] {
    ::unlink(src_name.c_str());
    if (dst) ::unlink(dst_name.c_str());
  };
  if (!dst) {
    cleanup();
    return fail_errno("create a file in " + dir.string(), dst_errno);
  }
  const std::string block(4096, 'm');
  const bool written = ::write(src.get(), block.data(), block.size()) == static_cast<ssize_t>(block.size());
  const bool cloned = written && ::ioctl(dst.get(), FICLONE, src.get()) == 0;
  cleanup();
  return cloned;
}

}  // namespace

DoctorContext host_doctor_context(std::filesystem::path state_dir) {
  DoctorContext context;
  context.root = HostRoot("/");
  context.state_dir = std::move(state_dir);
  context.kernel_cache = default_kernel_cache();
  if (const char* env = std::getenv("MICROAGENT_GUESTINIT"); env && *env) {
    context.guest_init = env;
  } else {
    context.guest_init = executable_dir() / "microagent-guestinit-x86_64";
  }
  if (const char* env = std::getenv(std::string(kAccelOverrideEnv).c_str())) context.accel_override = env;
  context.run = [](const std::vector<std::string>& argv) {
    SpawnOptions options;
    return run_command(argv, {}, options);
  };
  context.find_program = [](const std::string& name) { return microagent::find_program(name); };
  if (const char* env = std::getenv(std::string(net::kPasstOverrideEnv).c_str()); env && *env) {
    context.passt_override = env;
  }
  context.built_passt = net::built_passt_path(microagent_home());
  return context;
}

AccelChoice probe_accel(const DoctorContext& context) {
  return decide_accel(probe_kvm(context.root.path("/dev/kvm")), context.accel_override, "/dev/kvm");
}

DoctorCheck check_kvm_device(const KvmProbe& probe) {
  if (!probe.device_present) {
    return make("kvm.device", CheckStatus::warn, "/dev/kvm does not exist: guests run under tcg (software emulation)",
                "enable VT-x/AMD-V in the firmware and load kvm_intel or kvm_amd (modprobe kvm_intel)");
  }
  if (!probe.accessible) {
    return make("kvm.device", CheckStatus::warn, "/dev/kvm is present but not accessible: " + probe.detail,
                "run as root or add this user to the kvm group (usermod -aG kvm $USER, then log in again)");
  }
  return make("kvm.device", CheckStatus::ok, "/dev/kvm is present and accessible");
}

DoctorCheck check_kvm_api(const KvmProbe& probe) {
  if (!probe.accessible) return make("kvm.api", CheckStatus::warn, "not checked: /dev/kvm cannot be opened");
  if (probe.api_version != 12) {
    const std::string found = probe.api_version < 0 ? probe.detail : fmt::format("version {}", probe.api_version);
    return make("kvm.api", CheckStatus::warn,
                "/dev/kvm does not answer the KVM API (expected version 12): " + found,
                "/dev/kvm is not a KVM device; reload the kvm module");
  }
  return make("kvm.api", CheckStatus::ok, "KVM API version 12");
}

DoctorCheck check_kvm_probe(const KvmProbe& probe) {
  if (probe.ring0_ok) return make("kvm.probe", CheckStatus::ok, "probe VM ran ring-0 guest code: " + probe.detail);
  if (!probe.accessible || probe.api_version != 12) {
    return make("kvm.probe", CheckStatus::warn, "not run: no usable /dev/kvm");
  }
  // The case of these machines (DESIGN.md section 5): a KVM that creates VMs
  // but emulates ring 0, so stock kernels die. Said loudly, never fatal: tcg works.
  return make("kvm.probe", CheckStatus::warn,
              "/dev/kvm cannot run a kernel: the probe VM failed in ring 0 (" + probe.detail +
                  "); a software PVM module or nested KVM without hardware support",
              "use a host (or a nested setup) with hardware virtualization exposed to get kvm speed");
}

DoctorCheck check_accel(const AccelChoice& accel) {
  return make("accel", accel.accel == "kvm" ? CheckStatus::ok : CheckStatus::warn, accel.reason,
              accel.accel == "kvm" ? "" : fmt::format("set {}=kvm to force kvm anyway", kAccelOverrideEnv));
}

std::string parse_qemu_version(std::string_view output) {
  constexpr std::string_view kMarker = "version ";
  const auto at = output.find(kMarker);
  if (at == std::string_view::npos) return {};
  auto rest = output.substr(at + kMarker.size());
  const auto end = rest.find_first_not_of("0123456789.");
  return std::string(rest.substr(0, end));
}

std::vector<DoctorCheck> check_qemu(const DoctorContext& context) {
  const std::string install = "apt-get install qemu-system-x86 (QEMU 7.2 or newer)";
  auto qemu = context.find_program(std::string(kQemu));
  if (!qemu) {
    return {make("qemu.binary", CheckStatus::fail, "qemu-system-x86_64 is not on PATH", install),
            make("qemu.microvm", CheckStatus::fail, "not checked: no QEMU", install),
            make("qemu.devices", CheckStatus::fail, "not checked: no QEMU", install)};
  }
  std::vector<DoctorCheck> checks;
  auto version = context.run({*qemu, "--version"});
  if (!version || !version->status.success()) {
    const std::string why = version ? version->status.describe() + ": " + version->err : version.error().message;
    checks.push_back(make("qemu.binary", CheckStatus::fail, *qemu + " --version failed: " + why, install));
  } else {
    const std::string v = parse_qemu_version(version->out);
    checks.push_back(make("qemu.binary", CheckStatus::ok, *qemu + ", QEMU " + (v.empty() ? "(unknown version)" : v)));
  }

  auto machines = qemu_help(context, *qemu, "-machine");
  if (!machines) {
    checks.push_back(make("qemu.microvm", CheckStatus::fail, machines.error().message, install));
  } else if (!lists_machine(*machines, "microvm")) {
    checks.push_back(make("qemu.microvm", CheckStatus::fail, *qemu + " has no microvm machine", install));
  } else {
    checks.push_back(make("qemu.microvm", CheckStatus::ok, "machine microvm available"));
  }

  auto devices = qemu_help(context, *qemu, "-device");
  if (!devices) {
    checks.push_back(make("qemu.devices", CheckStatus::fail, devices.error().message, install));
  } else {
    std::string missing;
    for (auto device : kNeededDevices) {
      if (!lists_device(*devices, device)) missing += (missing.empty() ? "" : ", ") + std::string(device);
    }
    if (missing.empty()) {
      checks.push_back(make("qemu.devices", CheckStatus::ok, "virtio-blk-device, vhost-user-vsock-device available"));
    } else {
      checks.push_back(make("qemu.devices", CheckStatus::fail, *qemu + " lacks " + missing, install));
    }
  }
  return checks;
}

DoctorCheck check_vsock(const DoctorContext& context) {
  if (context.root.exists("/dev/vhost-vsock")) {
    return make("vsock", CheckStatus::ok, "vhost-vsock: the kernel's /dev/vhost-vsock is present");
  }
  return make("vsock", CheckStatus::ok,
              "vhost-user (microagent): no /dev/vhost-vsock, so microagent serves a vhost-user-vsock-device itself "
              "(guest RAM in a shared memfd)");
}

DoctorCheck check_tun(const DoctorContext& context) {
  const auto tun = context.root.path("/dev/net/tun");
  std::error_code ec;
  if (!std::filesystem::exists(tun, ec)) {
    return make("net.tun", CheckStatus::warn, "/dev/net/tun does not exist: --network nat and bridged cannot work",
                "modprobe tun");
  }
  if (!accessible_rw(tun)) {
    return make("net.tun", CheckStatus::warn, "/dev/net/tun is not accessible: --network nat and bridged cannot work",
                "run as root or grant CAP_NET_ADMIN");
  }
  return make("net.tun", CheckStatus::ok, "/dev/net/tun is accessible");
}

DoctorCheck check_passt(const DoctorContext& context) {
  const std::string fetch = "./scripts/fetch-passt (builds passt " + std::string(net::kBuiltPasstVersion) + ")";
  auto passt = net::choose_passt(context.passt_override, context.built_passt, context.find_program);
  if (!passt) return make("net.passt", CheckStatus::warn, "passt is not installed: --network user cannot work", fetch);
  if (passt->origin == "scripts/fetch-passt") {
    return make("net.passt", CheckStatus::ok, passt->path + " (passt " + std::string(net::kBuiltPasstVersion) + ")");
  }
  auto version = context.run({passt->path, "--version"});
  const std::string said = version ? version->out + version->err : "";
  if (net::passt_version_relays_half_close(said)) {
    return make("net.passt", CheckStatus::ok, passt->path + " (from " + passt->origin + ")");
  }
  const auto line = said.substr(0, said.find('\n'));
  return make("net.passt", CheckStatus::warn,
              passt->path + " (" + (line.empty() ? "no version" : line) + ", from " + passt->origin +
                  ") predates 2025-05-03: a guest client that half-closes first (printf ... | nc HOST PORT) never "
                  "gets the server's FIN and hangs",
              fetch);
}

DoctorCheck check_nft(const DoctorContext& context) {
  // nft lives in /usr/sbin, which a non-root PATH often lacks.
  auto nft = context.find_program("nft");
  if (!nft) {
    for (const char* candidate : {"/usr/sbin/nft", "/sbin/nft"}) {
      if (context.root.exists(candidate)) nft = candidate;
    }
  }
  if (nft) return make("net.nft", CheckStatus::ok, *nft);
  return make("net.nft", CheckStatus::warn, "nft is not installed: --network nat cannot work",
              "apt-get install nftables");
}

DoctorCheck check_userns(const DoctorContext& context) {
  auto value = context.root.read_line("/proc/sys/user/max_user_namespaces");
  if (!value) {
    return make("userns", CheckStatus::warn, "/proc/sys/user/max_user_namespaces is unreadable: user namespaces unknown",
                "use a kernel built with CONFIG_USER_NS");
  }
  char* end = nullptr;
  const long max = std::strtol(value->c_str(), &end, 10);
  if (end == value->c_str() || max <= 0) {
    return make("userns", CheckStatus::warn, "user namespaces are disabled (max_user_namespaces=" + *value + ")",
                "sysctl -w user.max_user_namespaces=15000");
  }
  return make("userns", CheckStatus::ok, "user namespaces enabled (max_user_namespaces=" + *value + ")");
}

DoctorCheck check_ip_forward(const DoctorContext& context) {
  auto value = context.root.read_line("/proc/sys/net/ipv4/ip_forward");
  if (value && *value == "1") return make("net.ip_forward", CheckStatus::ok, "net.ipv4.ip_forward=1");
  // Only --network nat routes guest traffic through the host: a warning, never a failure.
  return make("net.ip_forward", CheckStatus::warn,
              "net.ipv4.ip_forward=" + value.value_or("(unreadable)") + ": --network nat needs forwarding",
              "sysctl -w net.ipv4.ip_forward=1");
}

DoctorCheck check_kernel_artifact(const DoctorContext& context) {
  auto artifact = image::load_kernel_artifact(context.kernel_cache);
  if (!artifact) {
    return make("kernel", CheckStatus::fail, artifact.error().message, "microagent kernel fetch");
  }
  if (auto verified = image::verify_kernel_artifact(*artifact); !verified) {
    return make("kernel", CheckStatus::fail, verified.error().message, "microagent kernel fetch --force");
  }
  return make("kernel", CheckStatus::ok,
              fmt::format("{} ({}), vmlinux sha256 {}", artifact->release, artifact->vmlinux.string(),
                          artifact->sha256.at("vmlinux")));
}

DoctorCheck check_guest_init(const DoctorContext& context) {
  const auto& path = context.guest_init;
  if (::access(path.c_str(), R_OK) != 0) {
    return make("guestinit", CheckStatus::fail, path.string() + " is missing",
                "build the microagent-guestinit-x86_64 target beside microagent, or set MICROAGENT_GUESTINIT");
  }
  return make("guestinit", CheckStatus::ok, path.string());
}

std::string filesystem_name(unsigned long magic) {
  switch (magic) {
    case EXT4_SUPER_MAGIC: return "ext4";  // ext2/3/4 share the magic
    case XFS_SUPER_MAGIC: return "xfs";
    case BTRFS_SUPER_MAGIC: return "btrfs";
    case TMPFS_MAGIC: return "tmpfs";
    case OVERLAYFS_SUPER_MAGIC: return "overlayfs";
    case NFS_SUPER_MAGIC: return "nfs";
    case V9FS_MAGIC: return "9p";  // WSL2's /mnt/<drive> (drvfs)
    case 0x65735546: return "fuse";
    case 0x2fc12fc1: return "zfs";
    default: break;
  }
  return fmt::format("0x{:x}", magic);
}

std::vector<DoctorCheck> check_state_dir(const DoctorContext& context) {
  const std::string shown = context.state_dir.string();
  const auto dir = context.root.path(shown);
  const std::string fix = "pass --state-dir with a writable directory on a local Linux filesystem";
  if (auto made = ensure_directory(dir); !made) {
    return {make("statedir", CheckStatus::fail, shown + " cannot be created: " + made.error().message, fix),
            make("statedir.reflink", CheckStatus::warn, "not checked: no state dir")};
  }
  struct statfs fs {};
  const std::string fs_name = ::statfs(dir.c_str(), &fs) == 0 ? filesystem_name(static_cast<unsigned long>(fs.f_type))
                                                                : "unknown";
  auto reflink = reflink_works(dir);
  if (!reflink) {
    return {make("statedir", CheckStatus::fail, shown + " is not writable: " + reflink.error().message, fix),
            make("statedir.reflink", CheckStatus::warn, "not checked: state dir not writable")};
  }
  DoctorCheck writable = make("statedir", CheckStatus::ok, fmt::format("{} is writable ({})", shown, fs_name));
  if (*reflink) {
    return {writable, make("statedir.reflink", CheckStatus::ok,
                           fs_name + " supports reflink (FICLONE): workspace disks are cloned, not copied")};
  }
  return {writable, make("statedir.reflink", CheckStatus::ok,
                         fs_name + " has no reflink (FICLONE unsupported): copy-on-write through qcow2 overlays")};
}

DoctorCheck check_console(const DoctorContext& context) {
  auto qemu = context.find_program(std::string(kQemu));
  if (!qemu) return make("console", CheckStatus::fail, "not checked: no QEMU", "apt-get install qemu-system-x86");
  auto chardevs = qemu_help(context, *qemu, "-chardev");
  if (!chardevs) return make("console", CheckStatus::warn, chardevs.error().message);
  auto has = [&](std::string_view backend) {
    std::istringstream lines(*chardevs);
    std::string line;
    while (std::getline(lines, line)) {
      const auto first = line.find_first_not_of(" \t");
      if (first != std::string::npos && line.substr(first) == backend) return true;
    }
    return false;
  };
  if (!has("file") || !has("socket")) {
    return make("console", CheckStatus::warn, *qemu + " lacks the file or socket chardev: no serial log or console",
                "apt-get install qemu-system-x86");
  }
  return make("console", CheckStatus::ok, "serial console on ttyS0: captured to serial.log (file and socket chardevs)");
}

void conclude(DoctorReport& report, const AccelChoice& accel) {
  report.can_run = protocol::no_check_failed(report.checks);
  if (report.can_run) {
    report.accel = accel.accel;
    report.summary = fmt::format("will run guests with {} using {}: {}", report.backend, accel.accel, accel.reason);
    return;
  }
  report.accel.clear();
  std::string failed;
  for (const auto& check : report.checks) {
    if (check.status != CheckStatus::fail) continue;
    failed += (failed.empty() ? "" : "; ") + check.name + ": " + check.detail;
  }
  report.summary = fmt::format("cannot run guests with {}: {}", report.backend, failed);
}

LinuxDoctor run_linux_doctor(const DoctorContext& context, std::string_view backend) {
  LinuxDoctor doctor;
  doctor.accel = probe_accel(context);
  auto& checks = doctor.report.checks;
  doctor.report.backend = std::string(backend);
  const KvmProbe& probe = doctor.accel.probe;
  checks.push_back(check_kvm_device(probe));
  checks.push_back(check_kvm_api(probe));
  checks.push_back(check_kvm_probe(probe));
  checks.push_back(check_accel(doctor.accel));
  for (auto& check : check_qemu(context)) checks.push_back(std::move(check));
  checks.push_back(check_vsock(context));
  checks.push_back(check_tun(context));
  checks.push_back(check_passt(context));
  checks.push_back(check_nft(context));
  checks.push_back(check_userns(context));
  checks.push_back(check_ip_forward(context));
  checks.push_back(check_kernel_artifact(context));
  checks.push_back(check_guest_init(context));
  for (auto& check : check_state_dir(context)) checks.push_back(std::move(check));
  checks.push_back(check_console(context));
  conclude(doctor.report, doctor.accel);
  return doctor;
}

}  // namespace microagent::linux_kvm
