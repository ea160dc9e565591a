#include "image/oci/image_config.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "image/oci/digest.hpp"

namespace microagent::image {
namespace {

Result<std::vector<std::string>> string_list(const nlohmann::json& object, const char* key) {
  std::vector<std::string> out;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return out;
  if (!it->is_array()) return fail(ErrorCode::invalid_request, fmt::format("image config: {} must be a list of strings", key));
  for (const auto& item : *it) {
    if (!item.is_string()) return fail(ErrorCode::invalid_request, fmt::format("image config: {} must be a list of strings", key));
    out.push_back(item.get<std::string>());
  }
  return out;
}

Result<std::string> string_field(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::string();
  if (!it->is_string()) return fail(ErrorCode::invalid_request, fmt::format("image config: {} must be a string", key));
  return it->get<std::string>();
}

}  // namespace

Result<ImageConfig> parse_image_config(std::string_view bytes) {
  auto j = nlohmann::json::parse(bytes, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(ErrorCode::invalid_request, "the image config is not a JSON object");
  ImageConfig out;
  auto arch = string_field(j, "architecture");
  auto os = string_field(j, "os");
  if (!arch) return std::unexpected(arch.error());
  if (!os) return std::unexpected(os.error());
  out.architecture = *arch;
  out.os = *os;
  if (auto it = j.find("config"); it != j.end() && it->is_object()) {
    const auto& c = *it;
    auto entrypoint = string_list(c, "Entrypoint");
    auto cmd = string_list(c, "Cmd");
    auto env = string_list(c, "Env");
    auto workdir = string_field(c, "WorkingDir");
    auto user = string_field(c, "User");
    for (auto* r : {&entrypoint, &cmd, &env}) if (!*r) return std::unexpected(r->error());
    if (!workdir) return std::unexpected(workdir.error());
    if (!user) return std::unexpected(user.error());
    out.entrypoint = *entrypoint;
    out.cmd = *cmd;
    out.env = *env;
    out.working_dir = *workdir;
    out.user = *user;
  }
  auto rootfs = j.find("rootfs");
  if (rootfs == j.end() || !rootfs->is_object()) return fail(ErrorCode::invalid_request, "image config has no rootfs section");
  auto diff_ids = string_list(*rootfs, "diff_ids");
  if (!diff_ids) return std::unexpected(diff_ids.error());
  for (const auto& id : *diff_ids) {
    if (auto ok = validate_digest(id); !ok) return fail(ok.error().code, "image config diff_ids: " + ok.error().message);
  }
  out.diff_ids = *diff_ids;
  return out;
}

std::string synthesize_rootfs_config(const std::string& tree_digest) {
  nlohmann::json j = {{"architecture", "amd64"},
                      {"os", "linux"},
                      {"config", nlohmann::json::object()},
                      {"rootfs", {{"type", "layers"}, {"diff_ids", {tree_digest}}}}};
  return j.dump();
}

nlohmann::json to_json(const ImageConfig& c) {
  return {{"entrypoint", c.entrypoint}, {"cmd", c.cmd},   {"env", c.env},
          {"workingDir", c.working_dir}, {"user", c.user}, {"architecture", c.architecture},
          {"os", c.os},                 {"diffIDs", c.diff_ids}};
}

ImageConfig image_config_from_json(const nlohmann::json& j) {
  ImageConfig c;
  c.entrypoint = j.value("entrypoint", std::vector<std::string>{});
  c.cmd = j.value("cmd", std::vector<std::string>{});
  c.env = j.value("env", std::vector<std::string>{});
  c.working_dir = j.value("workingDir", "");
  c.user = j.value("user", "");
  c.architecture = j.value("architecture", "");
  c.os = j.value("os", "");
  c.diff_ids = j.value("diffIDs", std::vector<std::string>{});
  return c;
}

}  // namespace microagent::image
