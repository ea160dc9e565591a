#include "e2e_support.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/paths.hpp"
#include "common/unique_fd.hpp"
#include "image/kernel_artifact.hpp"

namespace microagent::e2e {

TempDir::TempDir() {
  std::string pattern = "/tmp/ma-e2e-XXXXXX";
  path = ::mkdtemp(pattern.data());
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!std::getenv("MICROAGENT_KEEP_TEST_STATE")) std::filesystem::remove_all(path, ec);
}

CliRun run_cli(const std::filesystem::path& state_dir, const std::vector<std::string>& args) {
  std::vector<std::string> argv{(bin_dir() / "microagent").string(), "--state-dir", state_dir.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto start = std::chrono::steady_clock::now();
  auto output = run_command(argv);
  CliRun run;
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!output) {
    run.err = output.error().message;
    return run;
  }
  run.exit_code = output->status.exit_code.value_or(128 + output->status.signal.value_or(0));
  run.out = std::move(output->out);
  run.err = std::move(output->err);
  return run;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

nlohmann::json read_json(const std::filesystem::path& path) {
  return nlohmann::json::parse(read_text(path), nullptr, false);
}

std::vector<nlohmann::json> read_json_lines(const std::filesystem::path& path) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(read_text(path));
  std::string line;
  while (std::getline(in, line)) lines.push_back(nlohmann::json::parse(line, nullptr, false));
  return lines;
}

std::string read_readiness(int listener, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string lines;
  UniqueFd conn;
  while (std::chrono::steady_clock::now() < deadline && lines.find("shellReady") == std::string::npos) {
    const int fd = conn ? conn.get() : listener;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    if (!conn) {
      conn.reset(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
      continue;
    }
    char buffer[1024];
    const ssize_t n = ::read(conn.get(), buffer, sizeof buffer);
    if (n <= 0) conn.reset();
    else lines.append(buffer, static_cast<std::size_t>(n));
  }
  return lines;
}

bool kernel_available() { return image::load_kernel_artifact(default_kernel_cache()).has_value(); }

}  // namespace microagent::e2e
