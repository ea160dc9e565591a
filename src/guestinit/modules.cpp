#include "guestinit/modules.hpp"

#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/unique_fd.hpp"

namespace microagent::guestinit {

std::vector<std::string> parse_modules_order(std::string_view text) {
  std::vector<std::string> paths;
  while (!text.empty()) {
    const auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) continue;
    line.remove_prefix(first);
    line = line.substr(0, line.find_last_not_of(" \t\r") + 1);
    if (line.front() == '#') continue;
    paths.emplace_back(line);
  }
  return paths;
}

std::string running_kernel_module_dir() {
  utsname name{};
  ::uname(&name);
  return std::string("/lib/modules/") + name.release;
}

std::vector<std::string> load_kernel_modules(const std::string& order_file, const std::string& module_dir) {
  std::ifstream in(order_file);
  if (!in) return {};
  std::stringstream text;
  text << in.rdbuf();

  std::vector<std::string> failures;
  for (const auto& relative : parse_modules_order(text.str())) {
    const std::string path = module_dir + "/" + relative;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
      failures.push_back("open module " + path + ": " + std::strerror(errno));
      continue;
    }
    // finit_module has no glibc wrapper. EEXIST: built in or loaded already.
    if (::syscall(SYS_finit_module, fd.get(), "", 0) != 0 && errno != EEXIST) {
      failures.push_back("load module " + relative + ": " + std::strerror(errno));
    }
  }
  return failures;
}

}  // namespace microagent::guestinit
