#include "cli/posix/image_defaults.hpp"

namespace microagent::cli {

Result<WorkloadDefaults> apply_image_config(const image::ImageConfig& image, const WorkloadOverrides& overrides,
                                            bool require_command) {
  WorkloadDefaults out;
  const auto& entrypoint = overrides.entrypoint ? *overrides.entrypoint : image.entrypoint;
  out.argv = entrypoint;
  const auto& args = overrides.command.empty() && !overrides.entrypoint ? image.cmd : overrides.command;
  out.argv.insert(out.argv.end(), args.begin(), args.end());
  if (require_command && out.argv.empty()) {
    return fail(ErrorCode::invalid_request, "the image has no Entrypoint or Cmd: give a command after --");
  }
  out.env = image.env;
  out.env.insert(out.env.end(), overrides.env.begin(), overrides.env.end());
  out.workdir = !overrides.workdir.empty() ? overrides.workdir : (!image.working_dir.empty() ? image.working_dir : "/");
  out.user = !overrides.user.empty() ? overrides.user : image.user;
  return out;
}

}  // namespace microagent::cli
