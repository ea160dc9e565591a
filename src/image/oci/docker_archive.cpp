// docker-archive: the format of `docker save` (and `skopeo copy ...
// docker-archive:`): a top-level manifest.json listing, per image, the config
// file, its RepoTags and the layer tar files in order. Layers carry no
// descriptor digest of their own; the config's diff IDs are what they are
// checked against.
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "common/sha256.hpp"
#include "image/oci/digest.hpp"
#include "image/oci/image_source.hpp"

namespace microagent::image {
namespace {

// "abc...64.json" / "blobs/sha256/abc...64": the digest the file name claims, if any.
std::optional<std::string> digest_in_name(const std::string& path) {
  std::string base = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
  for (std::string_view ext : {".json", ".tar"}) {
    if (base.ends_with(ext)) base.erase(base.size() - ext.size());
  }
  std::string digest = "sha256:" + base;
  return validate_digest(digest) ? std::optional(digest) : std::nullopt;
}

Result<std::string> string_member(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) {
    return fail(ErrorCode::invalid_request, fmt::format("docker-archive manifest.json: entry has no {} string", key));
  }
  return it->get<std::string>();
}

}  // namespace

namespace {

Result<ImageManifest> read_archive(const RootfsDir& archive, const std::optional<std::string>& name) {
  auto bytes = read_source_document(archive, "manifest.json");
  if (!bytes) return std::unexpected(bytes.error());
  auto list = nlohmann::json::parse(*bytes, nullptr, false);
  if (list.is_discarded() || !list.is_array() || list.empty()) {
    return fail(ErrorCode::invalid_request, "docker-archive manifest.json is not a non-empty JSON list");
  }
  const nlohmann::json* chosen = list.size() == 1 ? &list.front() : nullptr;
  std::string known;
  for (const auto& item : list) {
    if (chosen || !item.is_object()) break;
    for (const auto& tag : item.value("RepoTags", nlohmann::json::array())) {
      if (!tag.is_string()) continue;
      if (name && tag.get<std::string>() == *name) chosen = &item;
      known += (known.empty() ? "" : ", ") + tag.get<std::string>();
    }
  }
  if (!chosen || !chosen->is_object()) {
    return fail(ErrorCode::invalid_request,
                fmt::format("the archive holds {} images; choose one with --name (tags: {})", list.size(), known));
  }
  auto config_path = string_member(*chosen, "Config");
  if (!config_path) return std::unexpected(config_path.error());
  auto config_bytes = read_source_document(archive, *config_path);
  if (!config_bytes) return std::unexpected(config_bytes.error());
  const std::string config_digest = "sha256:" + sha256_hex(*config_bytes);
  if (auto claimed = digest_in_name(*config_path); claimed && *claimed != config_digest) {
    return fail(ErrorCode::invalid_request,
                fmt::format("config {} does not match the digest its name claims: the archive is corrupt", *config_path));
  }
  auto config = parse_image_config(*config_bytes);
  if (!config) return std::unexpected(config.error());

  ImageManifest out;
  auto layers = chosen->find("Layers");
  if (layers == chosen->end() || !layers->is_array()) {
    return fail(ErrorCode::invalid_request, "docker-archive manifest.json entry has no Layers list");
  }
  if (layers->size() != config->diff_ids.size()) {
    return fail(ErrorCode::invalid_request, fmt::format("manifest.json lists {} layers but the config {} diff IDs",
                                                        layers->size(), config->diff_ids.size()));
  }
  for (std::size_t i = 0; i < layers->size(); ++i) {
    if (!(*layers)[i].is_string()) return fail(ErrorCode::invalid_request, "docker-archive Layers must be strings");
    const std::string path = (*layers)[i].get<std::string>();
    LayerBlob layer{path, std::nullopt, config->diff_ids[i]};
    // docker >= 25 names layers by blob digest (blobs/sha256/<hex>); older
    // writers by diff ID (<hex>.tar, <id>/layer.tar): only the former is a blob digest.
    if (path.starts_with("blobs/sha256/")) layer.blob_digest = digest_in_name(path);
    out.layers.push_back(std::move(layer));
  }
  for (const auto& tag : chosen->value("RepoTags", nlohmann::json::array())) {
    if (tag.is_string()) out.names.push_back(tag.get<std::string>());
  }
  out.config_bytes = std::move(*config_bytes);
  out.config_digest = config_digest;
  out.config = std::move(*config);
  return out;
}

}  // namespace

Result<ImageManifest> read_docker_archive(const RootfsDir& archive, const std::optional<std::string>& name) {
  // A field of the wrong JSON type makes nlohmann throw: that is bad input, not a crash.
  try {
    return read_archive(archive, name);
  } catch (const nlohmann::json::exception& e) {
    return fail(ErrorCode::invalid_request, std::string("malformed docker-archive manifest: ") + e.what());
  }
}

}  // namespace microagent::image
