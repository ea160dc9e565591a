// bench/prepare: the cost of a workspace's root disk from a 2 GiB image base,
// copy-on-write (what `prepare`/`start` do: a qcow2 overlay over the base,
// copied from a per-base template, plus the workspace manifest with cached
// hashes) against `cp` of the same base, 5 interleaved rounds, medians and
// their ratio. Goal: ratio <= 0.01. Also prints the whole `prepare` request
// through the supervisor executable (process start, locks, durable event
// writes) for context. MICROAGENT_BENCH_DIR picks the filesystem (default /tmp).
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <vector>

#include <fmt/core.h>

#include "backends/linux_kvm/root_overlay.hpp"
#include "backends/linux_kvm/workspace_manifest.hpp"
#include "cli/posix/guest_assets.hpp"
#include "common/process.hpp"

using namespace microagent;

namespace {

constexpr std::uint64_t kBaseBytes = 2ULL << 30;
constexpr int kRounds = 5;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <class F>
double timed(F&& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A fully written base (not sparse: cp must really copy 2 GiB, as it would an image).
bool write_base(const std::filesystem::path& path) {
  std::ofstream out(path, std::ios::binary);
  std::vector<char> block(1 << 20);
  for (std::size_t i = 0; i < block.size(); ++i) block[i] = static_cast<char>(i * 31 + 7);
  for (std::uint64_t written = 0; written < kBaseBytes; written += block.size()) {
    block[0] = static_cast<char>(written >> 20);  // no two blocks alike
    out.write(block.data(), static_cast<std::streamsize>(block.size()));
  }
  return static_cast<bool>(out.flush());
}

}  // namespace

int main() {
  const char* env_dir = std::getenv("MICROAGENT_BENCH_DIR");
  const auto dir = std::filesystem::path(env_dir && *env_dir ? env_dir : "/tmp") / fmt::format("bench-prepare-{}", ::getpid());
  std::filesystem::create_directories(dir);
  struct Cleanup {
    std::filesystem::path dir;
    ~Cleanup() { std::filesystem::remove_all(dir); }
  } cleanup{dir};
  const auto base = dir / "base.ext4";
  fmt::print("prepare: writing a {} GiB base in {}\n", kBaseBytes >> 30, dir.string());
  if (!write_base(base)) {
    fmt::print(stderr, "prepare: cannot write the base\n");
    return 1;
  }
  auto assets = cli::default_image_assets();
  if (!assets) {
    fmt::print(stderr, "prepare: {} (run microagent kernel fetch)\n", assets.error().message);
    return 1;
  }
  const auto state = dir / "state";
  // Warm-up: the per-base template and the hash cache are made once per base, not per workspace.
  if (auto ok = linux_kvm::ensure_root_overlay(base, dir / "warm.qcow2", linux_kvm::overlay_template_dir(state)); !ok) {
    fmt::print(stderr, "prepare: {}\n", ok.error().message);
    return 1;
  }

  std::vector<double> cow, copy, request;
  for (int round = 0; round < kRounds; ++round) {
    const auto ws = state / "workspaces" / fmt::format("ws{}", round);
    cow.push_back(timed([&] {
      auto ok = linux_kvm::ensure_root_overlay(base, ws / "rootfs.qcow2", linux_kvm::overlay_template_dir(state));
      linux_kvm::ManifestInputs inputs{linux_kvm::hash_cache_dir(state), std::nullopt, assets->kernel, assets->initrd,
                                       base, ws / "rootfs.qcow2", {}, {}};
      auto manifest = linux_kvm::write_workspace_manifest(ws / "manifest.json", inputs);
      if (!ok || !manifest) std::abort();
    }));
    copy.push_back(timed([&] {
      auto out = run_command({"cp", base.string(), (dir / fmt::format("copy{}", round)).string()});
      if (!out || !out->status.success()) std::abort();
    }));
    std::filesystem::remove(dir / fmt::format("copy{}", round));
    const std::string prepare = fmt::format(
        R"({{"command":"prepare","identity":{{"runtimeID":"req{}"}},"config":{{"stateDir":"{}","kernelPath":"{}","initrdPath":"{}","rootfsPath":"{}"}}}})",
        round, state.string(), assets->kernel.string(), assets->initrd.string(), base.string());
    request.push_back(timed([&] {
      auto out = run_command({(std::filesystem::path(MICROAGENT_BIN_DIR) / "microagent-linux-kvm-supervisor").string()}, prepare);
      if (!out || !out->status.success()) {
        fmt::print(stderr, "prepare request failed: {}\n", out ? out->out : out.error().message);
        std::abort();
      }
    }));
  }
  const double cow_s = median(cow), copy_s = median(copy), request_s = median(request);
  fmt::print("copy-on-write root disk (overlay + manifest): median {:.2f} ms\n", cow_s * 1000);
  fmt::print("cp of the 2 GiB base:                         median {:.2f} ms\n", copy_s * 1000);
  fmt::print("whole prepare request (supervisor process):   median {:.2f} ms\n", request_s * 1000);
  fmt::print("ratio copy-on-write / cp: {:.4f} (goal <= 0.01)\n", cow_s / copy_s);
  fmt::print("ratio prepare request / cp: {:.4f}\n", request_s / copy_s);
  return 0;
}
