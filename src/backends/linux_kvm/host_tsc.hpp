#pragma once
// The TSC frequency to hand the guest as `tsc_early_khz=` (DESIGN.md section
// 5: without it 1 boot in 15 hung calibrating the TSC under TCG).
//
// Under TCG the guest TSC is the host TSC: QEMU's rdtsc helper returns
// cpu_get_ticks(), which (without -icount) is the host's rdtsc plus an
// offset. Measured here (QEMU 7.2, -M microvm -accel tcg -cpu max, host
// "tsc: Detected 2596.122 MHz processor"): a guest booted without the
// parameter calibrated itself with the PIT at 2596.121 and 2596.103 MHz; with
// tsc_early_khz=2596122 it printed "tsc: Detected 2596.122 MHz TSC" and
// switched to tsc-early normally. Under KVM the guest TSC also runs at the
// host rate unless QEMU is given tsc-frequency=. So the host's TSC kHz is the
// right value for both accelerators.
#include <cstdint>
#include <optional>
#include <string_view>

namespace microagent::linux_kvm {

// Host TSC frequency in kHz, from the first source that knows it:
// sysfs tsc_freq_khz, CPUID 0x15, CPUID 0x16, the kernel log's tsc lines,
// and last a ~20 ms measurement of rdtsc against CLOCK_MONOTONIC_RAW.
std::optional<std::uint64_t> host_tsc_khz();

// ---- Pure pieces, one per source (exposed for tests) ----

// Contents of /sys/devices/system/cpu/cpu0/tsc_freq_khz ("2596122\n").
std::optional<std::uint64_t> parse_tsc_freq_khz_file(std::string_view text);

// CPUID 0x15: TSC = crystal Hz (ecx) * numerator (ebx) / denominator (eax).
// Empty when any of the three is 0 (the leaf does not enumerate it).
std::optional<std::uint64_t> tsc_khz_from_cpuid_15(std::uint32_t eax, std::uint32_t ebx, std::uint32_t ecx);

// CPUID 0x16: eax[15:0] = processor base frequency in MHz (Intel: the TSC
// rate on parts with an invariant TSC). Empty when 0.
std::optional<std::uint64_t> tsc_khz_from_cpuid_16(std::uint32_t eax);

// The kernel's own answer from kernel log text (dmesg or /dev/kmsg records,
// several lines). Preference: the last "tsc: Refined TSC clocksource
// calibration: N MHz", then "tsc: Detected N MHz TSC", then "tsc: Detected N
// MHz processor". N has up to three decimals ("2596.122" -> 2596122 kHz).
std::optional<std::uint64_t> parse_kernel_log_tsc_khz(std::string_view log);

// "2596.122" -> 2596122: MHz with up to 3 decimals to kHz. Empty if malformed.
std::optional<std::uint64_t> parse_mhz_as_khz(std::string_view mhz);

}  // namespace microagent::linux_kvm
