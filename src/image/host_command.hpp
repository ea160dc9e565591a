#pragma once
// Runs a host tool (apt-get, apt-cache, depmod, busybox) and captures its
// output (over common/process.hpp, adding the "install <package>" hint).
// The argv is never passed through a shell.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace microagent::image {

struct HostCommandOutput {
  int exit_code = -1;  // 128+N when killed by signal N
  std::string out;
  std::string err;
};

// not_found when argv[0] cannot be executed (the message names the package
// that provides it when `package` is given).
Result<HostCommandOutput> run_host_command(const std::vector<std::string>& argv,
                                           const std::optional<std::filesystem::path>& cwd = std::nullopt,
                                           const std::string& package = {});

}  // namespace microagent::image
