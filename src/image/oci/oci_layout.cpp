// OCI image layout specification (image-spec v1.1, image-layout.md, manifest.md, config.md).
#include <unistd.h>

#include <cerrno>

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "common/sha256.hpp"
#include "image/oci/digest.hpp"
#include "image/oci/image_source.hpp"

namespace microagent::image {
namespace {

constexpr std::string_view kRefName = "org.opencontainers.image.ref.name";
constexpr std::string_view kContainerdName = "io.containerd.image.name";

bool is_index(const std::string& media_type) {
  return media_type == "application/vnd.oci.image.index.v1+json" ||
         media_type == "application/vnd.docker.distribution.manifest.list.v2+json";
}

Result<nlohmann::json> parse_document(const std::string& bytes, const std::string& what) {
  auto j = nlohmann::json::parse(bytes, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(ErrorCode::invalid_request, what + " is not a JSON object");
  return j;
}

std::string annotation(const nlohmann::json& descriptor, std::string_view key) {
  auto a = descriptor.find("annotations");
  if (a == descriptor.end() || !a->is_object()) return {};
  auto v = a->find(std::string(key));
  return v != a->end() && v->is_string() ? v->get<std::string>() : std::string();
}

bool matches(const nlohmann::json& descriptor, const std::string& name) {
  const std::string ref = annotation(descriptor, kRefName);
  const std::string full = annotation(descriptor, kContainerdName);
  auto colon = name.rfind(':');
  const std::string tag = colon != std::string::npos && name.find('/', colon) == std::string::npos ? name.substr(colon + 1) : "";
  return (!ref.empty() && (ref == name || ref == tag)) || (!full.empty() && full == name);
}

// Picks one descriptor of an index: the only one, or the one `name` matches,
// or (nested platform index) the linux/amd64 one.
Result<nlohmann::json> pick_descriptor(const nlohmann::json& index, const std::optional<std::string>& name) {
  auto manifests = index.find("manifests");
  if (manifests == index.end() || !manifests->is_array() || manifests->empty()) {
    return fail(ErrorCode::invalid_request, "index.json lists no manifests");
  }
  if (manifests->size() == 1) return manifests->front();
  std::vector<std::string> known;
  for (const auto& d : *manifests) {
    if (!d.is_object()) continue;
    if (name && matches(d, *name)) return d;
    if (auto p = d.find("platform"); p != d.end() && p->is_object() && p->value("os", "") == "linux" &&
                                     p->value("architecture", "") == "amd64" && !name) {
      return d;
    }
    if (std::string ref = annotation(d, kRefName); !ref.empty()) known.push_back(ref);
  }
  std::string list;
  for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
  return fail(ErrorCode::invalid_request,
              fmt::format("the layout holds {} images; choose one with --name (references: {})", manifests->size(),
                          list.empty() ? "none annotated" : list));
}

Result<std::string> descriptor_digest(const nlohmann::json& d, const std::string& what) {
  if (!d.is_object() || !d.contains("digest") || !d["digest"].is_string()) {
    return fail(ErrorCode::invalid_request, what + " descriptor has no digest");
  }
  std::string digest = d["digest"].get<std::string>();
  if (auto ok = validate_digest(digest); !ok) return std::unexpected(ok.error());
  return digest;
}

}  // namespace

Result<std::string> read_source_document(const RootfsDir& source, const std::string& relative) {
  auto fd = source.open_regular_file(relative);
  if (!fd) {
    if (fd.error().code == ErrorCode::not_found) {
      return fail(ErrorCode::not_found, fmt::format("{} has no {}", source.path().string(), relative));
    }
    return std::unexpected(fd.error());
  }
  std::string out;
  char buffer[65536];
  for (;;) {
    ssize_t n = ::read(fd->get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("read " + relative, errno);
    if (n == 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
    if (out.size() > kMaxDocumentBytes) {
      return fail(ErrorCode::invalid_request, fmt::format("{} is over {} bytes: not an image document", relative, kMaxDocumentBytes));
    }
  }
  return out;
}

Result<std::string> read_verified_blob(const RootfsDir& layout, const std::string& digest) {
  if (auto ok = validate_digest(digest); !ok) return std::unexpected(ok.error());
  auto bytes = read_source_document(layout, "blobs/sha256/" + digest_hex(digest));
  if (!bytes) return bytes;
  if ("sha256:" + sha256_hex(*bytes) != digest) {
    return fail(ErrorCode::invalid_request,
                fmt::format("blob {} does not match its digest: the layout is corrupt or tampered with", digest));
  }
  return bytes;
}

namespace {

Result<ImageManifest> read_layout(const RootfsDir& layout, const std::optional<std::string>& name) {
  auto marker = read_source_document(layout, "oci-layout");
  if (!marker) return std::unexpected(marker.error());
  auto marker_json = parse_document(*marker, "oci-layout");
  if (!marker_json) return std::unexpected(marker_json.error());
  if (!marker_json->contains("imageLayoutVersion")) {
    return fail(ErrorCode::invalid_request, "oci-layout has no imageLayoutVersion: not an OCI image layout");
  }
  auto index_bytes = read_source_document(layout, "index.json");
  if (!index_bytes) return std::unexpected(index_bytes.error());
  auto index = parse_document(*index_bytes, "index.json");
  if (!index) return std::unexpected(index.error());

  auto descriptor = pick_descriptor(*index, name);
  if (!descriptor) return std::unexpected(descriptor.error());
  ImageManifest out;
  for (std::string_view key : {kRefName, kContainerdName}) {
    if (std::string ref = annotation(*descriptor, key); !ref.empty()) out.names.push_back(ref);
  }
  nlohmann::json manifest;
  for (int depth = 0;; ++depth) {
    auto digest = descriptor_digest(*descriptor, "manifest");
    if (!digest) return std::unexpected(digest.error());
    auto bytes = read_verified_blob(layout, *digest);
    if (!bytes) return std::unexpected(bytes.error());
    auto doc = parse_document(*bytes, "manifest " + *digest);
    if (!doc) return std::unexpected(doc.error());
    const std::string media_type = descriptor->value("mediaType", doc->value("mediaType", ""));
    if (!is_index(media_type) && !doc->contains("manifests")) {
      manifest = std::move(*doc);
      break;
    }
    if (depth > 2) return fail(ErrorCode::invalid_request, "image indexes nest too deeply");
    descriptor = pick_descriptor(*doc, std::nullopt);
    if (!descriptor) return std::unexpected(descriptor.error());
  }

  auto config_digest = descriptor_digest(manifest.value("config", nlohmann::json()), "config");
  if (!config_digest) return std::unexpected(config_digest.error());
  auto config_bytes = read_verified_blob(layout, *config_digest);
  if (!config_bytes) return std::unexpected(config_bytes.error());
  auto config = parse_image_config(*config_bytes);
  if (!config) return std::unexpected(config.error());
  auto layers = manifest.find("layers");
  if (layers == manifest.end() || !layers->is_array()) return fail(ErrorCode::invalid_request, "manifest has no layers list");
  if (layers->size() != config->diff_ids.size()) {
    return fail(ErrorCode::invalid_request,
                fmt::format("manifest lists {} layers but the config {} diff IDs", layers->size(), config->diff_ids.size()));
  }
  for (std::size_t i = 0; i < layers->size(); ++i) {
    auto digest = descriptor_digest((*layers)[i], fmt::format("layer {}", i));
    if (!digest) return std::unexpected(digest.error());
    out.layers.push_back({"blobs/sha256/" + digest_hex(*digest), *digest, config->diff_ids[i]});
  }
  out.config_bytes = std::move(*config_bytes);
  out.config_digest = *config_digest;
  out.config = std::move(*config);
  return out;
}

}  // namespace

Result<ImageManifest> read_oci_layout(const RootfsDir& layout, const std::optional<std::string>& name) {
  // A field of the wrong JSON type makes nlohmann throw: that is bad input, not a crash.
  try {
    return read_layout(layout, name);
  } catch (const nlohmann::json::exception& e) {
    return fail(ErrorCode::invalid_request, std::string("malformed OCI layout document: ") + e.what());
  }
}

}  // namespace microagent::image
