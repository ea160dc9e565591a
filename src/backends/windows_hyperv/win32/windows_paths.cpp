#include "backends/windows_hyperv/win32/windows_paths.hpp"

#include "backends/windows_hyperv/win32/windows_headers.hpp"

#include <cstdlib>
#include <iterator>
#include <string>

namespace microagent::windows_hyperv::win32 {

std::filesystem::path executable_dir() {
  wchar_t buffer[MAX_PATH * 4];
  const DWORD n = GetModuleFileNameW(nullptr, buffer, static_cast<DWORD>(std::size(buffer)));
  return std::filesystem::path(std::wstring(buffer, n)).parent_path();
}

std::filesystem::path microagent_home() {
  if (const wchar_t* home = _wgetenv(L"MICROAGENT_HOME"); home && *home) return home;
  if (const wchar_t* local = _wgetenv(L"LOCALAPPDATA"); local && *local) return std::filesystem::path(local) / "microagent";
  return executable_dir();
}

}  // namespace microagent::windows_hyperv::win32
