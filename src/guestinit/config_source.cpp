#include "guestinit/config_source.hpp"

#include <cerrno>
#include <fstream>
#include <sstream>

namespace microagent::guestinit {

Result<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail_errno("read " + path, errno ? errno : ENOENT);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool cmdline_has_flag(const std::string& cmdline, const std::string& param) {
  std::istringstream tokens(cmdline);
  std::string token;
  while (tokens >> token) {
    if (token == param) return true;
  }
  return false;
}

Result<GuestConfig> load_guest_config(const ConfigLocations& where) {
  if (auto cmdline = read_text_file(where.cmdline_file)) {
    auto config = decode_config_from_cmdline(*cmdline);
    if (config || config.error().code != ErrorCode::not_found) return config;
  }
  auto text = read_text_file(where.config_file);
  if (!text) {
    return fail(ErrorCode::not_found, std::string("no workload config: neither ") + kCmdlineConfigKey +
                                          " on the kernel command line nor " + where.config_file);
  }
  return guest_config_from_json(*text);
}

}  // namespace microagent::guestinit
