#pragma once
// Where the workload config comes from: the kernel command line when it fits
// (no initramfs rebuild per run), else a file the host packed into the initramfs.
#include <string>

#include "common/error.hpp"
#include "common/guest_wire.hpp"

namespace microagent::guestinit {

struct ConfigLocations {
  std::string cmdline_file = "/proc/cmdline";
  std::string config_file = std::string("/") + kInitramfsConfigPath;
};

// The cmdline parameter wins; a present but corrupt parameter is an error, not
// a reason to fall back (the host meant that config). not_found when neither exists.
Result<GuestConfig> load_guest_config(const ConfigLocations& where = {});

// Reads a whole file; not_found when it does not exist.
Result<std::string> read_text_file(const std::string& path);

// True when the command line carries a whitespace-separated token exactly equal to `param`.
bool cmdline_has_flag(const std::string& cmdline, const std::string& param);

}  // namespace microagent::guestinit
