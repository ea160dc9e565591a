#include "backends/linux_kvm/host_tsc.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace microagent::linux_kvm {
namespace {

using Khz = std::optional<std::uint64_t>;

TEST(HostTsc, ReturnsPlausibleValue) {
  Khz khz = host_tsc_khz();
  ASSERT_TRUE(khz.has_value());
  EXPECT_GE(*khz, 100'000u);
  EXPECT_LE(*khz, 10'000'000u);
}

TEST(HostTsc, ParseMhzAsKhz) {
  const std::vector<std::pair<std::string, Khz>> cases = {
      {"2596.122", 2596122}, {"2596.12", 2596120}, {"2596.1", 2596100}, {"2596", 2596000},
      {"0.5", 500},          {"", std::nullopt},   {"2596.", std::nullopt}, {".5", std::nullopt},
      {"2596.1234", std::nullopt}, {"25x6", std::nullopt}, {"2596.1a", std::nullopt}, {"-1", std::nullopt},
      {"99999999999999999999", std::nullopt},
  };
  for (const auto& [text, want] : cases) EXPECT_EQ(parse_mhz_as_khz(text), want) << "'" << text << "'";
}

TEST(HostTsc, ParseSysfsFile) {
  const std::vector<std::pair<std::string, Khz>> cases = {
      {"2596122\n", 2596122}, {"3000000", 3000000}, {"", std::nullopt},   {"\n", std::nullopt},
      {"abc\n", std::nullopt}, {"0\n", std::nullopt}, {"12\n", std::nullopt}, {"2596122 kHz", std::nullopt},
  };
  for (const auto& [text, want] : cases) EXPECT_EQ(parse_tsc_freq_khz_file(text), want) << "'" << text << "'";
}

TEST(HostTsc, Cpuid15) {
  struct Case { std::uint32_t eax, ebx, ecx; Khz want; };
  const std::vector<Case> cases = {
      {2, 216, 24'000'000, 2'592'000},  // 24 MHz crystal * 108 (Skylake-X style)
      {1, 88, 38'400'000, 3'379'200},   // 38.4 MHz crystal
      {2, 176, 0, std::nullopt},        // crystal not enumerated
      {0, 0, 0, std::nullopt},          // leaf empty (AMD, most VMs)
      {0, 100, 25'000'000, std::nullopt},
      {1, 1, 1'000, std::nullopt},      // 1 kHz: implausible
  };
  for (const auto& c : cases) EXPECT_EQ(tsc_khz_from_cpuid_15(c.eax, c.ebx, c.ecx), c.want) << c.eax << "/" << c.ebx;
}

TEST(HostTsc, Cpuid16) {
  EXPECT_EQ(tsc_khz_from_cpuid_16(2600), Khz(2'600'000));
  EXPECT_EQ(tsc_khz_from_cpuid_16(0xABCD0000u | 3000), Khz(3'000'000));  // upper bits reserved
  EXPECT_EQ(tsc_khz_from_cpuid_16(0), std::nullopt);
  EXPECT_EQ(tsc_khz_from_cpuid_16(50), std::nullopt);
}

TEST(HostTsc, ParseKernelLog) {
  const std::string dmesg_detected =
      "[    0.000000] [Firmware Bug]: TSC doesn't count with P0 frequency!\n"
      "[    0.000064] tsc: Detected 2596.122 MHz processor\n"
      "[    0.096853] TSC deadline timer available\n";
  const std::string dmesg_refined =
      "[    0.000000] tsc: Fast TSC calibration using PIT\n"
      "[    0.000000] tsc: Detected 2394.000 MHz processor\n"
      "[    1.234567] tsc: Refined TSC clocksource calibration: 2394.453 MHz\n";
  const std::string kmsg_records =
      "6,12,64,-;tsc: Detected 2596.120 MHz processor\n"
      "6,13,64,-;tsc: Detected 2596.122 MHz TSC\n";
  const std::string split_suffix =  // " MHz TSC" on a later line must not pair with this prefix
      "tsc: Detected garbage\n"
      "x 1 MHz TSC\n";
  const std::vector<std::pair<std::string, Khz>> cases = {
      {dmesg_detected, 2596122},
      {dmesg_refined, 2394453},
      {kmsg_records, 2596122},
      {split_suffix, std::nullopt},
      {"", std::nullopt},
      {"[    0.1] clocksource: Switched to clocksource tsc\n", std::nullopt},
      {"tsc: Detected 0.001 MHz processor\n", std::nullopt},
      {"tsc: Detected 2596.122 MHz processor", 2596122},  // no trailing newline
  };
  for (const auto& [log, want] : cases) EXPECT_EQ(parse_kernel_log_tsc_khz(log), want) << log;
}

}  // namespace
}  // namespace microagent::linux_kvm
