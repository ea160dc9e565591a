// `microagent kernel fetch|show`: the guest kernel artifact (DESIGN.md section 4).
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "common/paths.hpp"
#include "image/kernel_artifact.hpp"

namespace microagent::cli {
namespace {

nlohmann::json artifact_json(const image::KernelArtifact& a) {
  return {{"release", a.release},          {"package", a.package}, {"packageVersion", a.package_version},
          {"dir", a.dir.string()},          {"vmlinux", a.vmlinux.string()}, {"bzImage", a.bzimage.string()},
          {"modulesDir", a.modules_dir.string()}, {"sha256", a.sha256}};
}

int print_artifact(const GlobalOptions& global, const Result<image::KernelArtifact>& artifact) {
  if (!artifact) return report_error(global, std::string(to_string(artifact.error().code)), artifact.error().message);
  if (global.json) {
    std::cout << nlohmann::json{{"ok", true}, {"kernel", artifact_json(*artifact)}}.dump(2) << std::endl;
  } else {
    std::cout << "kernel " << artifact->release << " (" << artifact->package << " " << artifact->package_version << ")\n"
              << "  vmlinux " << artifact->vmlinux.string() << "\n"
              << "  sha256  " << artifact->sha256.at("vmlinux") << std::endl;
  }
  return 0;
}

}  // namespace

void add_kernel_command(CLI::App& app, GlobalOptions& global) {
  auto* kernel = app.add_subcommand("kernel", "Guest kernel artifacts (Debian's cloud kernel)");
  kernel->require_subcommand(1);

  auto* fetch = kernel->add_subcommand("fetch", "Download the guest kernel with apt-get, extract, depmod, cut vmlinux; cached");
  auto force = std::make_shared<bool>(false);
  fetch->add_flag("--force", *force, "Fetch again even when a verified artifact is cached");
  fetch->callback([&global, force] {
    image::KernelFetchOptions options;
    options.cache_root = default_kernel_cache();
    options.force = *force;
    if (!global.json) std::cerr << "microagent: fetching the guest kernel into " << options.cache_root.string() << std::endl;
    global.exit_code = print_artifact(global, image::fetch_kernel_artifact(options));
  });

  auto* show = kernel->add_subcommand("show", "Show the cached guest kernel and verify its SHA-256");
  show->callback([&global] {
    auto artifact = image::load_kernel_artifact(default_kernel_cache());
    if (artifact) {
      if (auto ok = image::verify_kernel_artifact(*artifact); !ok) artifact = std::unexpected(ok.error());
    }
    global.exit_code = print_artifact(global, artifact);
  });
}

}  // namespace microagent::cli
