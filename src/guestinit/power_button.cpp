#include "guestinit/power_button.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace microagent::guestinit {

bool is_event_device_name(std::string_view file_name) {
  constexpr std::string_view prefix = "event";
  if (!file_name.starts_with(prefix) || file_name.size() == prefix.size()) return false;
  const auto digits = file_name.substr(prefix.size());
  return std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_power_button_name(std::string_view device_name) { return device_name == kPowerButtonName; }

bool is_power_press(const input_event& event) {
  return event.type == EV_KEY && event.code == KEY_POWER && event.value == 1;
}

bool contains_power_press(std::span<const std::byte> bytes) {
  for (std::size_t at = 0; at + sizeof(input_event) <= bytes.size(); at += sizeof(input_event)) {
    input_event event;
    std::memcpy(&event, bytes.data() + at, sizeof event);  // the buffer need not be aligned
    if (is_power_press(event)) return true;
  }
  return false;
}

PowerButtonWatcher PowerButtonWatcher::open(const std::string& dir) {
  PowerButtonWatcher watcher;
  DIR* listing = ::opendir(dir.c_str());
  if (listing == nullptr) return watcher;
  while (const dirent* entry = ::readdir(listing)) {
    if (!is_event_device_name(entry->d_name)) continue;
    const std::string path = dir + "/" + entry->d_name;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fd) continue;
    char name[256] = {};
    // EVIOCGNAME fails with ENOTTY on anything that is not an evdev node.
    if (::ioctl(fd.get(), EVIOCGNAME(sizeof name - 1), name) < 0) continue;
    if (is_power_button_name(name)) watcher.devices_.push_back(std::move(fd));
  }
  ::closedir(listing);
  return watcher;
}

std::vector<int> PowerButtonWatcher::fds() const {
  std::vector<int> out;
  for (const auto& device : devices_) out.push_back(device.get());
  return out;
}

bool PowerButtonWatcher::pressed(int fd) {
  bool press = false;
  input_event events[16];
  while (true) {
    const ssize_t n = ::read(fd, events, sizeof events);
    if (n > 0) {
      press = press || contains_power_press(std::as_bytes(std::span(events)).first(static_cast<std::size_t>(n)));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    // ENODEV (the device was removed) or EOF: stop polling it.
    std::erase_if(devices_, [fd](const UniqueFd& device) { return device.get() == fd; });
    break;
  }
  return press;
}

}  // namespace microagent::guestinit
