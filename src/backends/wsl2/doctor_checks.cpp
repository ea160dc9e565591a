#include "backends/wsl2/doctor_checks.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <sstream>
#include <vector>

#include <fmt/core.h>

namespace microagent::wsl2 {
namespace {

using protocol::CheckStatus;

DoctorCheck make(std::string name, CheckStatus status, std::string detail, std::string fix = {}) {
  return DoctorCheck{std::move(name), status, std::move(detail), std::move(fix)};
}

std::string trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(first, last - first + 1));
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// "MemTotal:       16318412 kB" -> bytes; nullopt when absent.
std::optional<std::uint64_t> mem_total_bytes(std::string_view meminfo) {
  std::istringstream lines{std::string(meminfo)};
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("MemTotal:", 0) != 0) continue;
    const std::uint64_t kib = std::strtoull(line.c_str() + 9, nullptr, 10);
    if (kib == 0) return std::nullopt;
    return kib * 1024;
  }
  return std::nullopt;
}

int cpu_count(std::string_view cpuinfo) {
  std::istringstream lines{std::string(cpuinfo)};
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    if (line.rfind("processor", 0) == 0 && line.find(':') != std::string::npos) ++count;
  }
  return count;
}

std::string config_note(const std::optional<WslConfig>& config, const std::string& key, const std::string& value) {
  if (!config) return "; no readable .wslconfig under /mnt/c/Users (WSL defaults apply)";
  if (value.empty()) return fmt::format("; {} sets no {} (WSL default applies)", config->path, key);
  return fmt::format("; {} sets {}={}", config->path, key, value);
}

}  // namespace

WslConfig parse_wslconfig(std::string_view text) {
  WslConfig config;
  std::istringstream lines{std::string(text)};
  std::string line;
  bool in_wsl2 = false;
  while (std::getline(lines, line)) {
    const std::string entry = trim(line);
    if (entry.empty() || entry.front() == '#' || entry.front() == ';') continue;
    if (entry.front() == '[') {
      in_wsl2 = lower(entry) == "[wsl2]";
      continue;
    }
    if (!in_wsl2) continue;
    const auto eq = entry.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = lower(trim(entry.substr(0, eq)));
    std::string value = trim(entry.substr(eq + 1));
    if (const auto hash = value.find('#'); hash != std::string::npos) value = trim(value.substr(0, hash));
    if (key == "memory") config.memory = value;
    if (key == "processors") config.processors = value;
    if (key == "localhostforwarding") config.localhost_forwarding = lower(value);
    if (key == "networkingmode") config.networking_mode = lower(value);
  }
  return config;
}

std::optional<WslConfig> read_wslconfig(const HostRoot& root) {
  std::error_code ec;
  std::vector<std::string> users;
  for (const auto& entry : std::filesystem::directory_iterator(root.path("/mnt/c/Users"), ec)) {
    users.push_back(entry.path().filename().string());
  }
  std::sort(users.begin(), users.end());
  for (const auto& user : users) {
    const std::string path = "/mnt/c/Users/" + user + "/.wslconfig";
    if (auto text = root.read_text(path)) {
      WslConfig config = parse_wslconfig(*text);
      config.path = path;
      return config;
    }
  }
  return std::nullopt;
}

DoctorCheck check_wsl_host(const WslHost& host) {
  if (host.is_wsl2()) return make("wsl.host", CheckStatus::ok, host.describe());
  return make("wsl.host", CheckStatus::fail, host.describe(),
              host.wsl1_kernel ? "convert the distro to WSL2: wsl --set-version <distro> 2"
                               : "use --backend linux-kvm on Linux or windows-hyperv on Windows");
}

DoctorCheck check_wsl_kvm(const linux_kvm::KvmProbe& probe) {
  auto gate = require_nested_kvm(probe);
  if (!gate) {
    // The gate's message already carries the fix; the check lists it apart.
    std::string detail = gate.error().message;
    if (const auto at = detail.find(". Fix: "); at != std::string::npos) detail.resize(at);
    return make("wsl.kvm", CheckStatus::fail, detail, nested_kvm_fix());
  }
  return make("wsl.kvm", CheckStatus::ok, "nested KVM: /dev/kvm opens and creates VMs");
}

DoctorCheck check_wsl_memory(const HostRoot& root, const std::optional<WslConfig>& config) {
  auto meminfo = root.read_text("/proc/meminfo");
  auto bytes = meminfo ? mem_total_bytes(*meminfo) : std::nullopt;
  const std::string note = config_note(config, "memory", config ? config->memory : "");
  if (!bytes) return make("wsl.memory", CheckStatus::warn, "/proc/meminfo has no MemTotal" + note);
  const double gib = static_cast<double>(*bytes) / (1024.0 * 1024 * 1024);
  const std::string detail = fmt::format("{:.1f} GiB visible to the distro{}", gib, note);
  // A 256 MiB guest plus QEMU and the page cache need about 1 GiB.
  if (gib < 1.0) {
    return make("wsl.memory", CheckStatus::warn, detail, "raise memory= under [wsl2] in .wslconfig, then wsl --shutdown");
  }
  return make("wsl.memory", CheckStatus::ok, detail);
}

DoctorCheck check_wsl_cpus(const HostRoot& root, const std::optional<WslConfig>& config) {
  auto cpuinfo = root.read_text("/proc/cpuinfo");
  const int cpus = cpuinfo ? cpu_count(*cpuinfo) : 0;
  const std::string note = config_note(config, "processors", config ? config->processors : "");
  if (cpus == 0) return make("wsl.cpus", CheckStatus::warn, "/proc/cpuinfo lists no processors" + note);
  return make("wsl.cpus", CheckStatus::ok, fmt::format("{} CPU{} visible to the distro{}", cpus, cpus == 1 ? "" : "s", note));
}

bool on_windows_drive(const std::filesystem::path& path) {
  const std::string text = path.lexically_normal().string();
  // "/mnt/c" or "/mnt/c/...": a single drive letter under /mnt.
  if (text.size() < 6 || text.rfind("/mnt/", 0) != 0) return false;
  if (!std::isalpha(static_cast<unsigned char>(text[5]))) return false;
  return text.size() == 6 || text[6] == '/';
}

DoctorCheck check_wsl_state_dir(const std::filesystem::path& state_dir) {
  if (on_windows_drive(state_dir)) {
    return make("wsl.statedir", CheckStatus::fail,
                state_dir.string() +
                    " is on a Windows drive (9p/drvfs): every disk write crosses the VM boundary, and Windows "
                    "case-insensitivity and permissions break workspace files",
                "keep the state dir on the distro's Linux ext4 filesystem, e.g. --state-dir ~/.microagent/state");
  }
  return make("wsl.statedir", CheckStatus::ok, state_dir.string() + " is on the distro's Linux filesystem");
}

DoctorCheck check_wsl_reflink() {
  return make("wsl.reflink", CheckStatus::ok,
              "WSL2's distro filesystem is ext4, which has no reflink: workspaces use qcow2 copy-on-write overlays");
}

DoctorCheck check_wsl_ports(const linux_kvm::DoctorContext& context, const std::optional<WslConfig>& config) {
  if (config && config->networking_mode == "mirrored") {
    return make("wsl.ports", CheckStatus::ok,
                "mirrored networking: Windows reaches a published port at localhost:<port>");
  }
  std::string ip;
  if (auto out = context.run({"hostname", "-I"}); out && out->status.success()) {
    std::istringstream words(out->out);
    words >> ip;
  }
  const std::string distro_ip = ip.empty() ? "the distro IP from `hostname -I`" : ip;
  if (config && config->localhost_forwarding == "false") {
    return make("wsl.ports", CheckStatus::ok,
                fmt::format("localhostForwarding=false: Windows reaches a published port at {}:<port>", distro_ip));
  }
  return make("wsl.ports", CheckStatus::ok,
              fmt::format("WSL localhost forwarding: Windows reaches a published port at localhost:<port> (else at "
                          "{}:<port>); publish on 0.0.0.0 for other machines",
                          distro_ip));
}

Result<linux_kvm::LinuxDoctor> run_wsl2_doctor(const linux_kvm::DoctorContext& context, const WslHost& host) {
  if (auto ok = require_wsl2(host); !ok) return std::unexpected(ok.error());
  linux_kvm::LinuxDoctor doctor = linux_kvm::run_linux_doctor(context, "wsl2");
  const auto config = read_wslconfig(context.root);
  auto& checks = doctor.report.checks;
  checks.insert(checks.begin(), {check_wsl_host(host), check_wsl_kvm(doctor.accel.probe)});
  checks.push_back(check_wsl_memory(context.root, config));
  checks.push_back(check_wsl_cpus(context.root, config));
  checks.push_back(check_wsl_state_dir(context.state_dir));
  checks.push_back(check_wsl_reflink());
  checks.push_back(check_wsl_ports(context, config));
  linux_kvm::conclude(doctor.report, doctor.accel);
  return doctor;
}

}  // namespace microagent::wsl2
