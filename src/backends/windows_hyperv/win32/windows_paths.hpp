#pragma once
// Where the Windows executables find things: their own directory and the
// microagent home (kernels, state), shared by microagent.exe and the supervisor.
#include <filesystem>

namespace microagent::windows_hyperv::win32 {

// The directory of the running .exe.
std::filesystem::path executable_dir();

// %MICROAGENT_HOME%, else %LOCALAPPDATA%\microagent, else executable_dir().
std::filesystem::path microagent_home();

}  // namespace microagent::windows_hyperv::win32
