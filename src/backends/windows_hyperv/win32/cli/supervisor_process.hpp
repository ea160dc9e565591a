#pragma once
// microagent.exe talks to the supervisor only as an executable (DESIGN.md
// section 1): CreateProcessW with pipes, one request in, one response out.
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace microagent::windows_cli {

// --supervisor, else %MICROAGENT_WINDOWS_HYPERV_SUPERVISOR%, else
// microagent-windows-hyperv-supervisor.exe beside microagent.exe.
std::filesystem::path find_supervisor(const std::optional<std::string>& override_path);

// Runs the supervisor with `request`; fails only when it cannot run or does not answer JSON.
Result<nlohmann::json> call_supervisor(const std::filesystem::path& supervisor, const nlohmann::json& request);

}  // namespace microagent::windows_cli
