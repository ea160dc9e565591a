#include "image/store/image_record.hpp"

namespace microagent::image {

nlohmann::json to_json(const ImageRecord& r) {
  nlohmann::json j = {{"digest", r.digest},
                      {"names", r.names},
                      {"config", to_json(r.config)},
                      {"rootfs", {{"digest", r.rootfs_digest}, {"entries", r.rootfs_entries}, {"bytes", r.rootfs_bytes},
                                  {"path", r.rootfs.string()}}},
                      {"source", {{"kind", r.source_kind}, {"path", r.source}}},
                      {"importedAt", r.imported_at}};
  if (!r.warnings.empty()) j["warnings"] = r.warnings;
  return j;
}

Result<ImageRecord> image_record_from_json(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(ErrorCode::internal, "record.json is not a JSON object");
  try {
    ImageRecord r;
    r.digest = j.at("digest").get<std::string>();
    r.config = image_config_from_json(j.value("config", nlohmann::json::object()));
    const auto& rootfs = j.at("rootfs");
    r.rootfs_digest = rootfs.at("digest").get<std::string>();
    r.rootfs_entries = rootfs.value("entries", std::uint64_t{0});
    r.rootfs_bytes = rootfs.value("bytes", std::uint64_t{0});
    const auto& source = j.value("source", nlohmann::json::object());
    r.source_kind = source.value("kind", "");
    r.source = source.value("path", "");
    r.imported_at = j.value("importedAt", "");
    r.warnings = j.value("warnings", std::vector<std::string>{});
    return r;
  } catch (const nlohmann::json::exception& e) {
    return fail(ErrorCode::internal, std::string("record.json is malformed: ") + e.what());
  }
}

}  // namespace microagent::image
