#pragma once
// Win32 and HRESULT failures as microagent Errors, with the system's message.
#include "backends/windows_hyperv/win32/windows_headers.hpp"

#include <string>
#include <string_view>

#include "common/error.hpp"

namespace microagent::windows_hyperv::win32 {

// The system's text for a Win32 error or HRESULT ("The specified module could not be found.").
std::string system_message(DWORD code);
// Access denied (E_ACCESSDENIED, ERROR_ACCESS_DENIED) -> permission_denied;
// file/module not found -> not_found; the rest -> internal.
ErrorCode code_for(DWORD code);
std::unexpected<Error> fail_win32(std::string_view what, DWORD code);
std::unexpected<Error> fail_hresult(std::string_view what, HRESULT hr, std::string_view detail = {});

std::wstring widen(std::string_view utf8);
std::string narrow(std::wstring_view wide);

}  // namespace microagent::windows_hyperv::win32
