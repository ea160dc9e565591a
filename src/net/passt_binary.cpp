#include "net/passt_binary.hpp"

#include <unistd.h>

#include <cctype>
#include <cstdlib>

#include "common/paths.hpp"
#include "common/process.hpp"

namespace microagent::net {

std::filesystem::path built_passt_path(const std::filesystem::path& home) {
  return home / "tools" / ("passt-" + std::string(kBuiltPasstVersion)) / "passt";
}

std::optional<PasstChoice> choose_passt(const std::optional<std::string>& override_path,
                                        const std::filesystem::path& built,
                                        const std::function<std::optional<std::string>(const std::string&)>& find) {
  if (override_path) return PasstChoice{*override_path, std::string(kPasstOverrideEnv)};
  if (::access(built.c_str(), X_OK) == 0) return PasstChoice{built.string(), "scripts/fetch-passt"};
  if (auto found = find("passt")) return PasstChoice{*found, "PATH"};
  return std::nullopt;
}

std::optional<PasstChoice> locate_passt() {
  std::optional<std::string> override_path;
  if (const char* env = std::getenv(std::string(kPasstOverrideEnv).c_str()); env && *env) override_path = env;
  return choose_passt(override_path, built_passt_path(microagent_home()),
                      [](const std::string& name) { return find_program(name); });
}

bool passt_version_relays_half_close(std::string_view out) {
  // The version is a date, YYYY_MM_DD (upstream tags) or YYYYMMDD (Debian's
  // 0.0~gitYYYYMMDD): take the first run of 8 digits with optional '_'.
  for (std::size_t i = 0; i + 8 <= out.size(); ++i) {
    std::string digits;
    std::size_t j = i;
    while (j < out.size() && digits.size() < 8 && (std::isdigit(static_cast<unsigned char>(out[j])) ||
                                                    (out[j] == '_' && !digits.empty()))) {
      if (out[j] != '_') digits.push_back(out[j]);
      ++j;
    }
    if (digits.size() == 8 && digits.rfind("20", 0) == 0) return digits >= "20250503";
  }
  return false;
}

}  // namespace microagent::net
