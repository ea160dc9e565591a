#pragma once
// The ACPI power button of a kept-alive guest. `microagent halt` falls back to
// QMP `system_powerdown` when guest init does not answer on the control port;
// on `microvm` that press reaches the guest through the ACPI GED as a notify on
// a PNP0C0C device. The `button` module turns it into an input device named
// "Power Button" and `evdev` gives that device a /dev/input/event* node, which
// guest init's service process polls: a KEY_POWER press means halt cleanly.
#include <linux/input.h>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/unique_fd.hpp"

namespace microagent::guestinit {

// The name the kernel's ACPI button driver gives both kinds of power button
// (the PNP0C0C device and the fixed-feature LNXPWRBN one).
inline constexpr std::string_view kPowerButtonName = "Power Button";
inline constexpr const char* kInputDeviceDir = "/dev/input";

// "event<digits>": the evdev nodes in /dev/input (not mice, js*, by-id/...).
bool is_event_device_name(std::string_view file_name);

// EVIOCGNAME's answer names a power button.
bool is_power_button_name(std::string_view device_name);

// EV_KEY / KEY_POWER with value 1: the press. The release (0) and autorepeat
// (2) that follow it are not a second request.
bool is_power_press(const input_event& event);

// Scans what one read(2) of an evdev node returned: whole input_event records
// (evdev never returns a partial one; a trailing fragment is ignored).
bool contains_power_press(std::span<const std::byte> bytes);

// The open power button devices. Single-threaded; lives in the service process.
class PowerButtonWatcher {
 public:
  // Opens every event node in `dir` whose device name is a power button; other
  // nodes (and files that are not input devices) are closed again.
  static PowerButtonWatcher open(const std::string& dir = kInputDeviceDir);

  std::size_t device_count() const { return devices_.size(); }
  // The descriptors to poll for POLLIN.
  std::vector<int> fds() const;
  // Drains a device that poll reported; true when it saw a press. A device
  // that went away (ENODEV) is dropped.
  bool pressed(int fd);
  // For forked children that have nothing to do with the button.
  void close() { devices_.clear(); }

 private:
  std::vector<UniqueFd> devices_;
};

}  // namespace microagent::guestinit
