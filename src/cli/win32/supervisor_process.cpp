// Finding and running a supervisor on Windows: CreateProcessW with pipes, one
// request in, one response out (DESIGN.md section 1).
#include "backends/windows_hyperv/win32/windows_headers.hpp"

#include "cli/supervisor_client.hpp"

#include <cstdlib>

#include "backends/windows_hyperv/win32/win32_error.hpp"
#include "backends/windows_hyperv/win32/windows_paths.hpp"

namespace microagent::cli {

using windows_hyperv::win32::executable_dir;
using windows_hyperv::win32::fail_win32;

namespace {

struct Handle {
  HANDLE h = nullptr;
  ~Handle() { reset(); }
  void reset() {
    if (h && h != INVALID_HANDLE_VALUE) CloseHandle(h);
    h = nullptr;
  }
};

}  // namespace

Result<std::filesystem::path> find_supervisor(const std::string& backend, const std::optional<std::string>& override_path) {
  if (override_path) return std::filesystem::path(*override_path);
  const std::string env_name = supervisor_env_name(backend);
  const std::wstring wide_name(env_name.begin(), env_name.end());  // ASCII: the name is ours
  if (const wchar_t* env = _wgetenv(wide_name.c_str()); env && *env) return std::filesystem::path(env);
  // Whether it is there is CreateProcessW's to say (not_found, naming the fix).
  return executable_dir() / (supervisor_program(backend) + ".exe");
}

Result<nlohmann::json> call_supervisor(const std::filesystem::path& supervisor, const nlohmann::json& request) {
  SECURITY_ATTRIBUTES inherit{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};
  Handle in_read, in_write, out_read, out_write;
  if (!CreatePipe(&in_read.h, &in_write.h, &inherit, 0) || !CreatePipe(&out_read.h, &out_write.h, &inherit, 0)) {
    return fail_win32("CreatePipe", GetLastError());
  }
  // Our ends stay ours: the child must not inherit them, or EOF never comes.
  SetHandleInformation(in_write.h, HANDLE_FLAG_INHERIT, 0);
  SetHandleInformation(out_read.h, HANDLE_FLAG_INHERIT, 0);

  STARTUPINFOW startup{};
  startup.cb = sizeof startup;
  startup.dwFlags = STARTF_USESTDHANDLES;
  startup.hStdInput = in_read.h;
  startup.hStdOutput = out_write.h;
  startup.hStdError = GetStdHandle(STD_ERROR_HANDLE);
  std::wstring command_line = L"\"" + supervisor.wstring() + L"\"";
  PROCESS_INFORMATION process{};
  if (!CreateProcessW(supervisor.wstring().c_str(), command_line.data(), nullptr, nullptr, TRUE, 0, nullptr, nullptr,
                      &startup, &process)) {
    const DWORD err = GetLastError();
    return fail(ErrorCode::not_found, "cannot run the supervisor " + supervisor.string() + ": " +
                                          windows_hyperv::win32::system_message(err) +
                                          " (install it beside microagent.exe or pass --supervisor)");
  }
  Handle process_handle{process.hProcess}, thread_handle{process.hThread};
  in_read.reset();
  out_write.reset();

  const std::string text = request.dump();
  DWORD written = 0;
  WriteFile(in_write.h, text.data(), static_cast<DWORD>(text.size()), &written, nullptr);
  in_write.reset();
  std::string response;
  char buffer[65536];
  DWORD got = 0;
  while (ReadFile(out_read.h, buffer, sizeof buffer, &got, nullptr) && got > 0) response.append(buffer, got);
  WaitForSingleObject(process_handle.h, INFINITE);
  DWORD exit_code = 0;
  GetExitCodeProcess(process_handle.h, &exit_code);
  return parse_supervisor_response(supervisor, response, "exit code " + std::to_string(exit_code));
}

}  // namespace microagent::cli
