#pragma once
// microagent.exe verbs that work on the state dir and the guest directly
// rather than through one supervisor request: connect (a Hyper-V socket
// straight to the guest), ps and logs (state files, plus the supervisor's
// inspect for live state), modelled on src/cli/{connect_command,ps_logs_commands}.cpp.
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace microagent::windows_cli {

inline constexpr int kMicroagentFailed = 125;

struct CliContext {
  bool json_output = false;
  std::filesystem::path state_dir;
  std::optional<std::string> supervisor;
};

// `{"ok":false,"error":{...}}` on stdout with --json, else "microagent: ... [code]" on stderr; 125.
inline int report_error(const CliContext& context, const Error& error) {
  const std::string code(to_string(error.code));
  if (context.json_output) {
    std::cout << nlohmann::json{{"ok", false}, {"error", {{"code", code}, {"message", error.message}}}}.dump() << std::endl;
  } else {
    std::cerr << "microagent: " << error.message << " [" << code << "]" << std::endl;
  }
  return kMicroagentFailed;
}

struct ConnectVerbOptions {
  std::string name;
  std::optional<std::string> send;
  std::vector<std::string> command;
};

// Exit code: the remote command's, or 125 when microagent failed.
int run_connect_verb(const CliContext& context, const ConnectVerbOptions& options);
int run_ps_verb(const CliContext& context);
int run_logs_verb(const CliContext& context, const std::string& name, bool follow);

}  // namespace microagent::windows_cli
