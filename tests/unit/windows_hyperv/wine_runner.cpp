#include "wine_runner.hpp"

#include <unistd.h>

#include "common/file_lock.hpp"
#include "common/process.hpp"

namespace microagent::windows_hyperv::wine {

WineAnswer run_under_wine(const std::filesystem::path& prefix, const std::vector<std::string>& args,
                          const std::string& input) {
  std::error_code ec;
  std::filesystem::create_directories(prefix.parent_path(), ec);
  auto lock = FileLock::acquire(prefix.string() + ".lock", std::chrono::minutes(5));
  WineAnswer answer;
  if (!lock) {
    answer.err = "wine prefix lock: " + lock.error().message;
    return answer;
  }
  std::vector<std::string> argv{kWine};
  argv.insert(argv.end(), args.begin(), args.end());
  SpawnOptions options;
  // MICROAGENT_HOME empty: this host's (a Unix path, when set) means nothing
  // to the Windows programs, which then use %LOCALAPPDATA%\microagent.
  options.extra_env = {{"WINEDEBUG", "-all"},
                       {"WINEPREFIX", prefix.string()},
                       {"WINEDLLOVERRIDES", "mscoree,mshtml="},
                       {"MICROAGENT_HOME", ""}};
  auto out = run_command(argv, input, options);
  if (!out) {
    answer.err = out.error().message;
    return answer;
  }
  answer.exited = out->status.exit_code.has_value();
  answer.exit_code = out->status.exit_code.value_or(-1);
  answer.out = out->out;
  answer.err = answer.exited ? out->err : "died: " + out->status.describe() + "\n" + out->err;
  answer.body = nlohmann::json::parse(out->out, nullptr, false);
  return answer;
}

std::string wine_missing(const std::filesystem::path& exe) {
  if (!std::filesystem::exists(exe)) return exe.string() + " missing: build the microagent_windows target";
  if (::access(kWine, X_OK) != 0) return std::string(kWine) + " missing: apt-get install wine64 (scripts/bootstrap)";
  return "";
}

}  // namespace microagent::windows_hyperv::wine
