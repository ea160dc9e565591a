#include "guestinit/power_button.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

namespace microagent::guestinit {
namespace {

input_event event(std::uint16_t type, std::uint16_t code, std::int32_t value) {
  input_event e{};
  e.type = type;
  e.code = code;
  e.value = value;
  return e;
}

std::vector<std::byte> bytes_of(const std::vector<input_event>& events) {
  std::vector<std::byte> out(events.size() * sizeof(input_event));
  if (!events.empty()) std::memcpy(out.data(), events.data(), out.size());
  return out;
}

TEST(PowerButton, OnlyAKeyPowerPressCounts) {
  struct Case {
    input_event e;
    bool press;
    const char* what;
  };
  const Case cases[] = {
      {event(EV_KEY, KEY_POWER, 1), true, "press"},
      {event(EV_KEY, KEY_POWER, 0), false, "release"},
      {event(EV_KEY, KEY_POWER, 2), false, "autorepeat"},
      {event(EV_KEY, KEY_SLEEP, 1), false, "sleep button"},
      {event(EV_KEY, KEY_POWER2, 1), false, "KEY_POWER2"},
      {event(EV_SYN, SYN_REPORT, 0), false, "sync"},
      {event(EV_SW, KEY_POWER, 1), false, "switch event with the same code"},
      {event(EV_MSC, KEY_POWER, 1), false, "misc event with the same code"},
  };
  for (const auto& c : cases) EXPECT_EQ(is_power_press(c.e), c.press) << c.what;
}

TEST(PowerButton, ScansEveryRecordOfARead) {
  // What the ACPI button driver reports for one press: key down, sync, key up, sync.
  const auto press = bytes_of({event(EV_KEY, KEY_POWER, 1), event(EV_SYN, SYN_REPORT, 0),
                               event(EV_KEY, KEY_POWER, 0), event(EV_SYN, SYN_REPORT, 0)});
  EXPECT_TRUE(contains_power_press(press));
  // The press as the last of several records.
  EXPECT_TRUE(contains_power_press(
      bytes_of({event(EV_SYN, SYN_REPORT, 0), event(EV_KEY, KEY_POWER, 0), event(EV_KEY, KEY_POWER, 1)})));
  // A read that caught only the release.
  EXPECT_FALSE(contains_power_press(bytes_of({event(EV_KEY, KEY_POWER, 0), event(EV_SYN, SYN_REPORT, 0)})));
  EXPECT_FALSE(contains_power_press({}));
}

TEST(PowerButton, IgnoresATrailingPartialRecord) {
  auto bytes = bytes_of({event(EV_SYN, SYN_REPORT, 0), event(EV_KEY, KEY_POWER, 1)});
  bytes.resize(bytes.size() - 1);  // the press is cut short
  EXPECT_FALSE(contains_power_press(bytes));
  // And an unaligned buffer is read byte-wise, not through a misaligned pointer.
  auto shifted = bytes_of({event(EV_KEY, KEY_POWER, 1)});
  shifted.insert(shifted.begin(), std::byte{0});
  EXPECT_TRUE(contains_power_press(std::span(shifted).subspan(1)));
}

TEST(PowerButton, EventNodeNames) {
  EXPECT_TRUE(is_event_device_name("event0"));
  EXPECT_TRUE(is_event_device_name("event12"));
  for (const char* name : {"event", "mice", "mouse0", "js0", "by-path", "event0x", "xevent0", "", "."}) {
    EXPECT_FALSE(is_event_device_name(name)) << name;
  }
}

TEST(PowerButton, DeviceName) {
  EXPECT_TRUE(is_power_button_name("Power Button"));
  for (const char* name : {"Sleep Button", "power button", "Power Button ", "AT Translated Set 2 keyboard", ""}) {
    EXPECT_FALSE(is_power_button_name(name)) << name;
  }
}

TEST(PowerButton, WatcherSkipsWhatIsNotAnInputDevice) {
  const auto dir = std::filesystem::path(::testing::TempDir()) / ("power-button-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "event0") << "not an evdev node";
  std::ofstream(dir / "mice") << "";
  auto watcher = PowerButtonWatcher::open(dir.string());
  EXPECT_EQ(watcher.device_count(), 0u);
  EXPECT_TRUE(watcher.fds().empty());
  std::filesystem::remove_all(dir);

  EXPECT_EQ(PowerButtonWatcher::open("/no/such/input/dir").device_count(), 0u);
}

}  // namespace
}  // namespace microagent::guestinit
