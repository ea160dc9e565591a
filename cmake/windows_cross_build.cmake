# The Windows sub-build: cmake/windows/ configured with the mingw-w64
# toolchain and built as part of the default build, so a Windows compile
# error fails `cmake --build`. Its executables land in <build>/bin/windows/.
option(MICROAGENT_WINDOWS "Cross-build the Windows executables with mingw-w64" ON)
if(NOT MICROAGENT_WINDOWS)
  return()
endif()
find_program(MICROAGENT_MINGW_CXX x86_64-w64-mingw32-g++-posix)
if(NOT MICROAGENT_MINGW_CXX)
  message(FATAL_ERROR "x86_64-w64-mingw32-g++-posix not found: apt-get install g++-mingw-w64-x86-64-posix "
                      "(or configure with -DMICROAGENT_WINDOWS=OFF)")
endif()
include(ExternalProject)
# Always optimized (RelWithDebInfo), whatever the Linux build type: the executables are stripped
# anyway, and at -O0 mingw-w64 g++ 12 emits std::type_info::operator== into
# every object, which then collides with libstdc++.a's copy at the static link
# (GCC PR 110572), so a Debug build of the whole tree would not link.
set(microagent_windows_args
    -DCMAKE_TOOLCHAIN_FILE=${PROJECT_SOURCE_DIR}/cmake/mingw-w64-x86_64.cmake
    -DCMAKE_BUILD_TYPE=RelWithDebInfo
    -DMICROAGENT_SOURCE_DIR=${PROJECT_SOURCE_DIR}
    -DMICROAGENT_WINDOWS_BIN_DIR=${CMAKE_RUNTIME_OUTPUT_DIRECTORY}/windows)
if(CMAKE_CXX_COMPILER_LAUNCHER)
  list(APPEND microagent_windows_args -DCMAKE_CXX_COMPILER_LAUNCHER=${CMAKE_CXX_COMPILER_LAUNCHER})
endif()
ExternalProject_Add(microagent_windows
  SOURCE_DIR ${PROJECT_SOURCE_DIR}/cmake/windows
  BINARY_DIR ${CMAKE_BINARY_DIR}/windows
  CMAKE_ARGS ${microagent_windows_args}
  # The sub-build's own Ninja decides what is out of date; always ask it.
  BUILD_ALWAYS ON
  INSTALL_COMMAND ""
  BUILD_BYPRODUCTS ${CMAKE_RUNTIME_OUTPUT_DIRECTORY}/windows/microagent-windows-hyperv-supervisor.exe
                   ${CMAKE_RUNTIME_OUTPUT_DIRECTORY}/windows/microagent.exe)
set(MICROAGENT_WINDOWS_SUPERVISOR_EXE ${CMAKE_RUNTIME_OUTPUT_DIRECTORY}/windows/microagent-windows-hyperv-supervisor.exe
    CACHE INTERNAL "the cross-built windows-hyperv supervisor")
set(MICROAGENT_WINDOWS_CLI_EXE ${CMAKE_RUNTIME_OUTPUT_DIRECTORY}/windows/microagent.exe
    CACHE INTERNAL "the cross-built Windows CLI")
