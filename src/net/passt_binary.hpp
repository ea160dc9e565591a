#pragma once
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace microagent::net {

// The passt scripts/fetch-passt builds. Debian 12's passt (2023-03-09) never
// sends the server's FIN to a guest that half-closed first (its FIN before the
// reply: `printf ... | nc HOST PORT`), so such clients hang; this one does.
inline constexpr std::string_view kBuiltPasstVersion = "2025_05_03.587980c";
inline constexpr std::string_view kPasstOverrideEnv = "MICROAGENT_PASST";

// <home>/tools/passt-<kBuiltPasstVersion>/passt.
std::filesystem::path built_passt_path(const std::filesystem::path& home);

struct PasstChoice {
  std::string path;
  std::string origin;  // "MICROAGENT_PASST", "scripts/fetch-passt" or "PATH"
};

// MICROAGENT_PASST when set (even if it is not there: an explicit choice is
// never silently replaced), else the built one when executable, else PATH.
std::optional<PasstChoice> choose_passt(const std::optional<std::string>& override_path,
                                        const std::filesystem::path& built,
                                        const std::function<std::optional<std::string>(const std::string&)>& find);
// The same with the process environment, microagent_home() and PATH.
std::optional<PasstChoice> locate_passt();

// From `passt --version` output: true when it names a build of 2025-05-03 or
// later ("passt 2025_05_03.587980c"); Debian 12's says "unknown version".
bool passt_version_relays_half_close(std::string_view version_output);

}  // namespace microagent::net
