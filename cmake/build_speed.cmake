# How the host code builds fast enough for a newcomer's first `run` (the
# bootstrap's targets, 2 cores: 585 s with full debug info, header-only fmt and
# one file per compiler run; 121 s with what follows):
# - unity batches: src/ libraries compile 8 files per compiler run, so the
#   json, fmt and CLI11 templates every file uses are instantiated once per
#   batch, not once per file;
# - precompiled headers for the standard and third-party headers nearly every
#   file includes (nlohmann/json and fmt alone take about 3 s to parse);
# - line tables (-g1) instead of full debug info, and libfmt linked, not
#   compiled into every file (top-level CMakeLists.txt, src/CMakeLists.txt).
# scripts/sanitize builds with both off (-DMICROAGENT_UNITY_BUILD=OFF
# -DCMAKE_DISABLE_PRECOMPILE_HEADERS=ON): every file compiled on its own,
# which keeps each file's includes honest and its helpers its own.
option(MICROAGENT_UNITY_BUILD "Compile src/ libraries in unity batches" ON)

set(MICROAGENT_PCH_HEADERS
  <algorithm> <chrono> <cstdint> <expected> <filesystem> <functional> <map> <memory>
  <optional> <string> <string_view> <vector> <nlohmann/json.hpp> <fmt/format.h>)

# A src/ library: unity batches, and ma_common_base's precompiled headers
# (the CLI, which adds CLI11, precompiles its own).
function(microagent_build_fast target)
  if(MICROAGENT_UNITY_BUILD)
    set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 8)
  endif()
  if(target STREQUAL "ma_common_base")
    target_precompile_headers(${target} PRIVATE ${MICROAGENT_PCH_HEADERS})
  elseif(target STREQUAL "ma_cli")
    target_precompile_headers(${target} PRIVATE ${MICROAGENT_PCH_HEADERS} <CLI/CLI.hpp>)
  else()
    target_precompile_headers(${target} REUSE_FROM ma_common_base)
  endif()
endfunction()

# Tests and benchmarks: one file per compiler run (their helpers' names repeat
# from file to file), with a precompiled header of their own that all reuse.
function(microagent_test_build_fast target)
  if(NOT TARGET microagent_test_pch)
    file(WRITE ${CMAKE_BINARY_DIR}/test_pch.cpp "// the tests' precompiled headers are built with this file\n")
    add_library(microagent_test_pch OBJECT ${CMAKE_BINARY_DIR}/test_pch.cpp)
    target_link_libraries(microagent_test_pch PRIVATE ma_common_base GTest::gtest GTest::gmock)
    target_precompile_headers(microagent_test_pch PRIVATE ${MICROAGENT_PCH_HEADERS} <gtest/gtest.h> <gmock/gmock.h>)
  endif()
  target_precompile_headers(${target} REUSE_FROM microagent_test_pch)
  # GCC 12 at -O2 warns of out-of-bounds memcpy inside std::string's operator+
  # in a few test files once the PCH changes what it inlines: false positives
  # of its string-building warnings (none in src/, which keeps them on).
  target_compile_options(${target} PRIVATE -Wno-array-bounds -Wno-stringop-overflow -Wno-stringop-overread)
endfunction()
