// `microagent kernel fetch|show|export`: the guest kernel artifact (DESIGN.md section 4).
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/posix/guest_assets.hpp"
#include "common/atomic_file.hpp"
#include "common/paths.hpp"
#include "common/sha256.hpp"
#include "image/initramfs.hpp"
#include "image/kernel_artifact.hpp"
#include "image/module_order.hpp"

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

// The windows-hyperv/x86_64 artifact a Windows host boots with HCS
// (LinuxKernelDirect): the same vmlinux, and an initramfs with guest init and
// the Hyper-V modules (VMBus, storvsc, netvsc, hv_sock) in place of virtio's.
// Copy DEST to %LOCALAPPDATA%\microagent\kernels\x86_64\current.
Result<nlohmann::json> export_windows_artifact(const std::filesystem::path& dest) {
  auto artifact = image::load_kernel_artifact(default_kernel_cache());
  if (!artifact) return std::unexpected(artifact.error());
  auto guest_init = find_guest_init();
  if (!guest_init) return std::unexpected(guest_init.error());
  if (auto ok = ensure_directory(dest); !ok) return std::unexpected(ok.error());
  const auto spec = image::guest_initramfs_spec(*guest_init, *artifact, image::kHypervModules);
  if (auto ok = image::write_initramfs(spec, dest / "initrd.img"); !ok) return std::unexpected(ok.error());
  auto vmlinux = read_file(artifact->vmlinux);
  if (!vmlinux) return std::unexpected(vmlinux.error());
  if (auto ok = write_file_durable(dest / "vmlinux", *vmlinux); !ok) return std::unexpected(ok.error());
  nlohmann::json manifest{{"backend", "windows-hyperv"}, {"arch", "x86_64"}, {"release", artifact->release}};
  for (const char* file : {"vmlinux", "initrd.img"}) {
    auto hash = sha256_file(dest / file);
    if (!hash) return std::unexpected(hash.error());
    manifest["sha256"][file] = *hash;
  }
  if (auto ok = write_file_durable(dest / "manifest.json", manifest.dump(2) + "\n"); !ok) return std::unexpected(ok.error());
  return manifest;
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

  auto* export_cmd = kernel->add_subcommand("export", "Write the windows-hyperv kernel artifact (vmlinux, initrd.img with "
                                                      "the Hyper-V modules) into DEST, for a Windows host");
  auto dest = std::make_shared<std::string>();
  export_cmd->add_option("DEST", *dest, "Directory to write (copy it to %LOCALAPPDATA%\\microagent\\kernels\\x86_64\\current)")
      ->required();
  export_cmd->callback([&global, dest] {
    auto manifest = export_windows_artifact(*dest);
    if (!manifest) {
      global.exit_code = report_error(global, std::string(to_string(manifest.error().code)), manifest.error().message);
      return;
    }
    std::cout << (global.json ? nlohmann::json{{"ok", true}, {"artifact", *manifest}}.dump(2) : manifest->dump(2)) << std::endl;
    global.exit_code = 0;
  });
}

}  // namespace microagent::cli
