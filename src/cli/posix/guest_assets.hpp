#pragma once
// What the embedded default image boots: the cached kernel artifact and an
// initramfs (guest init + modules + busybox-static), built once and cached.
#include <filesystem>
#include <optional>
#include <string>

#include "common/error.hpp"

namespace microagent::cli {

struct GuestAssets {
  std::filesystem::path kernel;  // ELF vmlinux (PVH entry)
  std::filesystem::path initrd;
  std::string kernel_release;
};

// $MICROAGENT_GUESTINIT, else microagent-guestinit-x86_64 beside the CLI.
Result<std::filesystem::path> find_guest_init();
Result<GuestAssets> default_image_assets();

}  // namespace microagent::cli
