#include "backends/windows_hyperv/win32/win32_error.hpp"

#include <fmt/core.h>

namespace microagent::windows_hyperv::win32 {

std::string system_message(DWORD code) {
  wchar_t* buffer = nullptr;
  const DWORD n = FormatMessageW(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
                                 nullptr, code, 0, reinterpret_cast<wchar_t*>(&buffer), 0, nullptr);
  std::string text = n && buffer ? narrow(std::wstring_view(buffer, n)) : std::string();
  if (buffer) LocalFree(buffer);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' || text.back() == '.')) {
    text.pop_back();
  }
  return text.empty() ? fmt::format("error 0x{:08X}", code) : fmt::format("{} (0x{:08X})", text, code);
}

ErrorCode code_for(DWORD code) {
  const DWORD win32 = HRESULT_FACILITY(code) == FACILITY_WIN32 ? HRESULT_CODE(code) : code;
  if (win32 == ERROR_ACCESS_DENIED || win32 == ERROR_PRIVILEGE_NOT_HELD) return ErrorCode::permission_denied;
  if (win32 == ERROR_FILE_NOT_FOUND || win32 == ERROR_PATH_NOT_FOUND || win32 == ERROR_MOD_NOT_FOUND) {
    return ErrorCode::not_found;
  }
  return ErrorCode::internal;
}

std::unexpected<Error> fail_win32(std::string_view what, DWORD code) {
  return fail(code_for(code), std::string(what) + ": " + system_message(code));
}

std::unexpected<Error> fail_hresult(std::string_view what, HRESULT hr, std::string_view detail) {
  std::string message = std::string(what) + ": " + system_message(static_cast<DWORD>(hr));
  if (!detail.empty()) message += ": " + std::string(detail);
  return fail(code_for(static_cast<DWORD>(hr)), message);
}

std::wstring widen(std::string_view utf8) {
  if (utf8.empty()) return {};
  const int n = MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), nullptr, 0);
  std::wstring out(static_cast<std::size_t>(n), L'\0');
  MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), out.data(), n);
  return out;
}

std::string narrow(std::wstring_view wide) {
  if (wide.empty()) return {};
  const int n = WideCharToMultiByte(CP_UTF8, 0, wide.data(), static_cast<int>(wide.size()), nullptr, 0, nullptr, nullptr);
  std::string out(static_cast<std::size_t>(n), '\0');
  WideCharToMultiByte(CP_UTF8, 0, wide.data(), static_cast<int>(wide.size()), out.data(), n, nullptr, nullptr);
  return out;
}

}  // namespace microagent::windows_hyperv::win32
