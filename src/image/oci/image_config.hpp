#pragma once
// The parts of an OCI / Docker image config that microagent uses: the process
// defaults that drive `run` and the layer diff IDs that tie the config (and so
// the image digest) to the rootfs content.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace microagent::image {

struct ImageConfig {
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::vector<std::string> env;  // "KEY=VALUE"
  std::string working_dir;
  std::string user;
  std::string architecture;
  std::string os;
  std::vector<std::string> diff_ids;
};

// invalid_request for anything that is not a config (bad JSON, wrong types, a
// diff ID that is not a sha256 digest).
Result<ImageConfig> parse_image_config(std::string_view bytes);

// A config for a plain rootfs (directory or tarball): no process defaults and
// one "layer" whose diff ID is the rootfs tree digest, so the same tree always
// gets the same image digest. Canonical JSON (sorted keys, no spaces).
std::string synthesize_rootfs_config(const std::string& tree_digest);

nlohmann::json to_json(const ImageConfig& config);
ImageConfig image_config_from_json(const nlohmann::json& j);

}  // namespace microagent::image
