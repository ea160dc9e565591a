#pragma once
// How an image's config drives a workload, as `docker run` does it: the
// command line's arguments replace Cmd (not Entrypoint), --env overrides Env,
// --workdir overrides WorkingDir, --user overrides User. Pure.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "image/oci/image_config.hpp"

namespace microagent::cli {

struct WorkloadOverrides {
  std::vector<std::string> command;  // after --; empty: the image's Cmd
  std::optional<std::vector<std::string>> entrypoint;  // --entrypoint ("" clears it)
  std::vector<std::string> env;      // "K=V"
  std::string workdir;               // empty: the image's
  std::string user;                  // empty: the image's
};

struct WorkloadDefaults {
  std::vector<std::string> argv;
  std::vector<std::string> env;  // "K=V", image first, overrides after (last one wins)
  std::string workdir;
  std::string user;
};

// `require_command`: run needs something to run; a started workspace may have none.
Result<WorkloadDefaults> apply_image_config(const image::ImageConfig& image, const WorkloadOverrides& overrides,
                                            bool require_command);

}  // namespace microagent::cli
