#include "image/host_command.hpp"

#include "common/process.hpp"

namespace microagent::image {

Result<HostCommandOutput> run_host_command(const std::vector<std::string>& argv,
                                           const std::optional<std::filesystem::path>& cwd,
                                           const std::string& package) {
  if (argv.empty()) return fail(ErrorCode::internal, "run_host_command: empty argv");
  SpawnOptions options;
  if (cwd) options.cwd = cwd->string();
  auto out = run_command(argv, {}, options);
  if (!out) {
    Error error = out.error();
    if (!package.empty() && error.code == ErrorCode::not_found) {
      error.message += " (install it: apt-get install " + package + ")";
    }
    return std::unexpected(std::move(error));
  }
  HostCommandOutput result;
  result.exit_code = out->status.exit_code ? *out->status.exit_code : 128 + out->status.signal.value_or(0);
  result.out = std::move(out->out);
  result.err = std::move(out->err);
  return result;
}

}  // namespace microagent::image
