#include "image/store/ref_index.hpp"

#include <nlohmann/json.hpp>

#include "common/atomic_file.hpp"

namespace microagent::image {

Result<RefMap> read_ref_index(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return RefMap{};
  auto text = read_file(file);
  if (!text) return std::unexpected(text.error());
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("refs") || !j["refs"].is_object()) {
    return fail(ErrorCode::internal, file.string() + " is corrupt: remove it and import the images again");
  }
  RefMap refs;
  for (const auto& [name, digest] : j["refs"].items()) {
    if (digest.is_string()) refs[name] = digest.get<std::string>();
  }
  return refs;
}

Result<void> write_ref_index(const std::filesystem::path& file, const RefMap& refs) {
  return write_file_atomic(file, nlohmann::json{{"refs", refs}}.dump(2) + "\n", 0600);
}

Result<void> validate_reference(const std::string& ref) {
  bool ok = !ref.empty() && ref.size() <= 255 && !ref.starts_with("sha256:");
  for (unsigned char c : ref) ok = ok && c > 0x20 && c < 0x7f;
  if (!ok) {
    return fail(ErrorCode::invalid_request,
                "'" + ref + "' is not a valid image reference: use 1-255 printable characters without spaces "
                "(for example myimage:1.0), not a sha256: digest");
  }
  return {};
}

}  // namespace microagent::image
