#pragma once
// `microagent image import`: source -> verified layers -> rootfs -> store.
// The image is keyed by its config digest; when the store has it already the
// import stops before touching any layer ("already present").
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "image/oci/entry_writer.hpp"
#include "image/store/image_store.hpp"

namespace microagent::image {

struct ImportProgress {
  std::string phase;         // "source", "layer", "rootfs", "commit"
  std::size_t layer = 0;     // 1-based, during "layer"
  std::size_t layers = 0;
  std::string digest;        // the layer's diff ID
  std::uint64_t bytes = 0;   // bytes of the layer read so far
  bool done = false;         // this phase (or layer) finished
};

struct ImportOptions {
  std::filesystem::path source;
  std::optional<std::string> name;  // selects the image in a multi-image source and names it
  ExtractLimits limits;
  std::function<void(const ImportProgress&)> on_progress;
};

struct ImportOutcome {
  ImageRecord record;
  bool already_present = false;
};

Result<ImportOutcome> import_image(ImageStore& store, const ImportOptions& options);

}  // namespace microagent::image
