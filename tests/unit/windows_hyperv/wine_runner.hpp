#pragma once
// Runs the cross-built .exe files under Debian's wine for the wine tests: one
// shared prefix in the build dir, runs serialised by a lock (the first one
// creates the prefix, ~8 s), wine's own chatter off.
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace microagent::windows_hyperv::wine {

inline constexpr const char* kWine = "/usr/lib/wine/wine64";

struct WineAnswer {
  int exit_code = -1;  // -1 when the process did not exit normally
  std::string out, err;
  nlohmann::json body;  // `out` as JSON; discarded when it is not
  bool exited = false;  // false: the .exe died (a crash) or could not start
};

// wine64 ARGS... with `input` on stdin, under `prefix`.
WineAnswer run_under_wine(const std::filesystem::path& prefix, const std::vector<std::string>& args,
                          const std::string& input = "");

// Empty when wine and `exe` are there; else why the test cannot run.
std::string wine_missing(const std::filesystem::path& exe);

}  // namespace microagent::windows_hyperv::wine
