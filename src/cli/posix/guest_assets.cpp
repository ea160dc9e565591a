#include "cli/posix/guest_assets.hpp"

#include <unistd.h>

#include <cstdlib>

#include "common/paths.hpp"
#include "image/initramfs.hpp"
#include "image/kernel_artifact.hpp"
#include "image/module_order.hpp"

namespace microagent::cli {

Result<std::filesystem::path> find_guest_init() {
  if (const char* env = std::getenv("MICROAGENT_GUESTINIT"); env && *env) return std::filesystem::path(env);
  const auto sibling = executable_dir() / "microagent-guestinit-x86_64";
  if (::access(sibling.c_str(), R_OK) == 0) return sibling;
  return fail(ErrorCode::not_found, "microagent-guestinit-x86_64 not found beside microagent (set MICROAGENT_GUESTINIT)");
}

Result<GuestAssets> default_image_assets() {
  auto kernel = image::load_kernel_artifact(default_kernel_cache());
  if (!kernel) return std::unexpected(kernel.error());
  auto guest_init = find_guest_init();
  if (!guest_init) return std::unexpected(guest_init.error());
  if (::access(image::kHostBusyboxStatic, R_OK) != 0) {
    return fail(ErrorCode::host_unavailable, "busybox-static is not installed: apt-get install busybox-static");
  }
  const auto spec = image::guest_initramfs_spec(*guest_init, *kernel, image::kMicrovmModules);
  auto initrd = image::cached_initramfs(spec, microagent_home() / "initramfs");
  if (!initrd) return std::unexpected(initrd.error());
  return GuestAssets{kernel->vmlinux, *initrd, kernel->release};
}

}  // namespace microagent::cli
