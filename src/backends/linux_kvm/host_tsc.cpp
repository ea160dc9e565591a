#include "backends/linux_kvm/host_tsc.hpp"

#include <cpuid.h>
#include <fcntl.h>
#include <sys/klog.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "common/unique_fd.hpp"

namespace microagent::linux_kvm {
namespace {

// Anything outside 100 MHz..10 GHz is a misread, not a TSC.
constexpr std::uint64_t kMinKhz = 100'000;
constexpr std::uint64_t kMaxKhz = 10'000'000;

std::optional<std::uint64_t> plausible(std::optional<std::uint64_t> khz) {
  if (khz && *khz >= kMinKhz && *khz <= kMaxKhz) return khz;
  return std::nullopt;
}

std::optional<std::uint64_t> from_sysfs() {
  std::ifstream in("/sys/devices/system/cpu/cpu0/tsc_freq_khz");
  if (!in) return std::nullopt;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_tsc_freq_khz_file(text);
}

std::optional<std::uint64_t> from_cpuid(std::uint32_t leaf) {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid_max(0, nullptr) < leaf) return std::nullopt;
  __cpuid_count(leaf, 0, eax, ebx, ecx, edx);
  return leaf == 0x15 ? tsc_khz_from_cpuid_15(eax, ebx, ecx) : tsc_khz_from_cpuid_16(eax);
}

// The kernel log as text: /dev/kmsg (one record per read, non-blocking to
// stop at the end), else syslog(2) READ_ALL, which is what dmesg reads.
std::string read_kernel_log() {
  std::string log;
  UniqueFd kmsg(::open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (kmsg) {
    std::vector<char> record(16384);  // a read with a buffer shorter than the record fails with EINVAL
    for (;;) {
      ssize_t n = ::read(kmsg.get(), record.data(), record.size());
      if (n < 0 && errno == EPIPE) continue;  // records overwritten while reading: skip ahead
      if (n <= 0) break;
      log.append(record.data(), static_cast<std::size_t>(n));
      if (log.empty() || log.back() != '\n') log.push_back('\n');
    }
    if (!log.empty()) return log;
  }
  int size = ::klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, nullptr, 0);
  if (size <= 0) return log;
  log.resize(static_cast<std::size_t>(size));
  int n = ::klogctl(3 /* SYSLOG_ACTION_READ_ALL */, log.data(), size);
  log.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return log;
}

std::uint64_t monotonic_raw_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

// rdtsc against CLOCK_MONOTONIC_RAW over ~20 ms, rounded to kHz. Measured
// here: 2596126 and 2596145 against the kernel's 2596122 (under 10 ppm).
std::optional<std::uint64_t> measure() {
  std::uint64_t ns0 = monotonic_raw_ns();
  std::uint64_t tsc0 = __rdtsc();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::uint64_t ns1 = monotonic_raw_ns();
  std::uint64_t tsc1 = __rdtsc();
  if (ns1 <= ns0 || tsc1 <= tsc0) return std::nullopt;
  // cycles per ms = kHz
  return static_cast<std::uint64_t>(static_cast<double>(tsc1 - tsc0) * 1e6 / static_cast<double>(ns1 - ns0) + 0.5);
}

// Number after `prefix` up to " MHz", in the last line of `log` holding it.
std::optional<std::uint64_t> last_mhz_after(std::string_view log, std::string_view prefix, std::string_view suffix) {
  std::optional<std::uint64_t> found;
  for (std::size_t at = log.find(prefix); at != std::string_view::npos; at = log.find(prefix, at + 1)) {
    std::string_view rest = log.substr(at + prefix.size());
    std::size_t end = rest.find(suffix);
    std::size_t eol = rest.find('\n');
    if (end == std::string_view::npos || (eol != std::string_view::npos && eol < end)) continue;
    if (auto khz = parse_mhz_as_khz(rest.substr(0, end))) found = khz;
  }
  return found;
}

}  // namespace

std::optional<std::uint64_t> parse_mhz_as_khz(std::string_view mhz) {
  std::size_t dot = mhz.find('.');
  std::string_view whole = mhz.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : mhz.substr(dot + 1);
  if (whole.empty() || frac.size() > 3 || (dot != std::string_view::npos && frac.empty())) return std::nullopt;
  std::uint64_t w = 0;
  auto [p, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), w);
  if (ec != std::errc() || p != whole.data() + whole.size() || w > kMaxKhz) return std::nullopt;
  std::uint64_t f = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    char c = i < frac.size() ? frac[i] : '0';
    if (c < '0' || c > '9') return std::nullopt;
    f = f * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return w * 1000 + f;
}

std::optional<std::uint64_t> parse_tsc_freq_khz_file(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  std::uint64_t khz = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), khz);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
  return plausible(khz);
}

std::optional<std::uint64_t> tsc_khz_from_cpuid_15(std::uint32_t eax, std::uint32_t ebx, std::uint32_t ecx) {
  if (eax == 0 || ebx == 0 || ecx == 0) return std::nullopt;
  return plausible(static_cast<std::uint64_t>(ecx) * ebx / eax / 1000);
}

std::optional<std::uint64_t> tsc_khz_from_cpuid_16(std::uint32_t eax) {
  return plausible(static_cast<std::uint64_t>(eax & 0xffff) * 1000);
}

std::optional<std::uint64_t> parse_kernel_log_tsc_khz(std::string_view log) {
  // Refined: the clocksource watchdog's long calibration, the best figure.
  if (auto khz = plausible(last_mhz_after(log, "tsc: Refined TSC clocksource calibration: ", " MHz"))) return khz;
  // "Detected N MHz TSC": the kernel took the rate from CPUID/MSR/tsc_early_khz.
  if (auto khz = plausible(last_mhz_after(log, "tsc: Detected ", " MHz TSC"))) return khz;
  return plausible(last_mhz_after(log, "tsc: Detected ", " MHz processor"));
}

std::optional<std::uint64_t> host_tsc_khz() {
  if (auto khz = from_sysfs()) return khz;
  if (auto khz = from_cpuid(0x15)) return khz;
  if (auto khz = from_cpuid(0x16)) return khz;
  if (auto khz = parse_kernel_log_tsc_khz(read_kernel_log())) return khz;
  return plausible(measure());
}

}  // namespace microagent::linux_kvm
