#pragma once
// Helpers for end-to-end tests: run the real microagent binary against a
// private state dir; guests boot with the cached kernel (microagent kernel fetch).
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/process.hpp"

namespace microagent::e2e {

inline std::filesystem::path bin_dir() { return MICROAGENT_BIN_DIR; }

struct TempDir {
  TempDir();
  ~TempDir();
  std::filesystem::path path;
};

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
  double seconds = 0;
};

// `microagent --state-dir <state_dir> ARGS...`
CliRun run_cli(const std::filesystem::path& state_dir, const std::vector<std::string>& args);

nlohmann::json read_json(const std::filesystem::path& path);
std::vector<nlohmann::json> read_json_lines(const std::filesystem::path& path);
std::string read_text(const std::filesystem::path& path);

// Reads readiness lines from a guest's control-port listener (<vsock>_1026)
// until shellReady arrived or `timeout` passed; returns what was read.
std::string read_readiness(int listener, std::chrono::milliseconds timeout);

// Skips the test (GTEST_SKIP) when no kernel artifact is cached.
bool kernel_available();

}  // namespace microagent::e2e
