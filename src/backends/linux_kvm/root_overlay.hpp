#pragma once
// A workspace's root disk: a qcow2 overlay whose backing file is the image's
// cached ext4 base. The base is opened read-only by QEMU and every guest write
// lands in the overlay. Creating one is O(1) whatever the base's size:
// qemu-img makes one empty overlay per base (a template, a few hundred KiB),
// and each workspace gets a byte copy of that template.
#include <filesystem>

#include "common/error.hpp"

namespace microagent::linux_kvm {

// Creates `overlay` over `base` unless it exists; an existing overlay must be
// backed by `base` (else `conflict`: the workspace was made from another image).
// Templates live in `template_dir`.
Result<void> ensure_root_overlay(const std::filesystem::path& base, const std::filesystem::path& overlay,
                                 const std::filesystem::path& template_dir);

// <state>/cache/overlay-templates
std::filesystem::path overlay_template_dir(const std::filesystem::path& state_dir);

// The backing file qemu-img reports for a qcow2 image.
Result<std::filesystem::path> overlay_backing_file(const std::filesystem::path& overlay);

}  // namespace microagent::linux_kvm
