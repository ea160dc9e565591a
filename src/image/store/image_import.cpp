#include "image/store/image_import.hpp"

#include <sys/stat.h>

#include <cerrno>

#include <fmt/format.h>

#include "common/atomic_file.hpp"
#include "common/clock.hpp"
#include "common/sha256.hpp"
#include "image/oci/digest.hpp"
#include "image/oci/image_source.hpp"
#include "image/oci/layer_apply.hpp"
#include "image/oci/source_open.hpp"
#include "image/oci/tree_digest.hpp"

namespace microagent::image {
namespace {

namespace fs = std::filesystem;

// Removes the staging directory unless the import committed it.
class StagingGuard {
 public:
  explicit StagingGuard(fs::path dir) : dir_(std::move(dir)) {}
  ~StagingGuard() {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  void release() { dir_.clear(); }

 private:
  fs::path dir_;
};

// A bare OCI ref.name ("latest", "1.0") is a tag: qualify it with the
// source's file name so it reads as an image reference ("layout:latest").
std::vector<std::string> names_for(const ImportOptions& options, const std::vector<std::string>& found) {
  if (options.name) return {*options.name};
  std::vector<std::string> out;
  std::string stem = options.source.lexically_normal().filename().string();
  if (stem.empty()) stem = options.source.lexically_normal().parent_path().filename().string();
  for (std::string_view ext : {".tar", ".tgz", ".tar.gz"}) {
    if (stem.ends_with(ext)) stem.erase(stem.size() - ext.size());
  }
  for (const auto& name : found) {
    std::string ref = name.find_first_of(":/@") == std::string::npos ? stem + ":" + name : name;
    if (validate_reference(ref)) out.push_back(ref);
  }
  return out;
}

void report(const ImportOptions& options, ImportProgress progress) {
  if (options.on_progress) options.on_progress(progress);
}

Result<void> apply_layers(const RootfsDir& source, const ImageManifest& manifest, const RootfsDir& rootfs,
                          ExtractBudget& budget, SpecialFiles& specials, const ImportOptions& options) {
  const std::size_t count = manifest.layers.size();
  for (std::size_t i = 0; i < count; ++i) {
    const LayerBlob& layer = manifest.layers[i];
    ImportProgress progress{"layer", i + 1, count, layer.diff_id, 0, false};
    report(options, progress);
    auto fd = source.open_regular_file(layer.path);
    if (!fd) return fail(fd.error().code, fmt::format("layer {} ({}): {}", i + 1, layer.path, fd.error().message));
    auto digests = apply_layer_file(fd->get(), layer.path, rootfs, budget, specials, [&](std::uint64_t bytes) {
      progress.bytes = bytes;
      report(options, progress);
    });
    if (!digests) return std::unexpected(digests.error());
    if (layer.blob_digest && digests->blob != *layer.blob_digest) {
      return fail(ErrorCode::invalid_request,
                  fmt::format("layer {} ({}) has digest {} but its descriptor says {}: the image is corrupt or tampered with",
                              i + 1, layer.path, digests->blob, *layer.blob_digest));
    }
    if (digests->diff_id != layer.diff_id) {
      return fail(ErrorCode::invalid_request,
                  fmt::format("layer {} ({}) unpacks to diff ID {} but the image config says {}: the image is corrupt "
                              "or tampered with", i + 1, layer.path, digests->diff_id, layer.diff_id));
    }
    progress.done = true;
    report(options, progress);
  }
  return {};
}

// The digest and names of a layered source the store already holds.
std::optional<std::pair<std::string, std::vector<std::string>>> known_image(const OpenedSource& source,
                                                                           const ImportOptions& options,
                                                                           const ImageStore& store) {
  if (source.kind != SourceKind::oci_archive && source.kind != SourceKind::docker_archive) return std::nullopt;
  auto dir = RootfsDir::open(source.dir);
  if (!dir) return std::nullopt;
  auto manifest = source.kind == SourceKind::docker_archive ? read_docker_archive(*dir, options.name)
                                                            : read_oci_layout(*dir, options.name);
  if (!manifest || !store.contains(manifest->config_digest)) return std::nullopt;
  return std::pair{manifest->config_digest, manifest->names};
}

Result<ImportOutcome> finish(ImageStore& store, const ImportOptions& options, const std::string& digest,
                             const std::vector<std::string>& found_names, bool already_present) {
  if (auto named = store.add_refs(names_for(options, found_names), digest); !named) return std::unexpected(named.error());
  auto record = store.resolve(digest);
  if (!record) return std::unexpected(record.error());
  return ImportOutcome{std::move(*record), already_present};
}

}  // namespace

Result<ImportOutcome> import_image(ImageStore& store, const ImportOptions& options) {
  if (options.name) {
    if (auto ok = validate_reference(*options.name); !ok) return std::unexpected(ok.error());
  }
  auto staging = store.make_staging_dir("import");
  if (!staging) return std::unexpected(staging.error());
  StagingGuard guard(*staging);
  ExtractBudget budget{options.limits};

  report(options, {"source", 0, 0, "", 0, false});
  if (is_archive(options.source)) {
    // A first look at the archive's small files names the image: when the
    // store has it, no layer is unpacked at all.
    ExtractBudget peek_budget{options.limits};
    auto peek = open_image_source(options.source, *staging / "peek", peek_budget, true);
    if (!peek) return std::unexpected(peek.error());
    if (auto known = known_image(*peek, options, store)) return finish(store, options, known->first, known->second, true);
    std::error_code ec;
    fs::remove_all(*staging / "peek", ec);
  }
  // The archive's own unpacking has a budget apart from the layers it holds.
  ExtractBudget source_budget{options.limits};
  auto opened = open_image_source(options.source, *staging / "source", source_budget);
  if (!opened) return std::unexpected(opened.error());
  report(options, {"source", 0, 0, "", 0, true});
  const bool layered = opened->kind != SourceKind::rootfs_dir && opened->kind != SourceKind::rootfs_tar;

  const fs::path rootfs_path = *staging / "rootfs";
  ImageManifest manifest;
  SpecialFiles specials;  // devices, FIFOs, setuid/setgid bits: for the root disk, never on the host
  if (layered) {
    auto source = RootfsDir::open(opened->dir);
    if (!source) return std::unexpected(source.error());
    auto read = opened->kind == SourceKind::docker_archive ? read_docker_archive(*source, options.name)
                                                            : read_oci_layout(*source, options.name);
    if (!read) return fail(read.error().code, fmt::format("{}: {}", options.source.string(), read.error().message));
    manifest = std::move(*read);
    if (store.contains(manifest.config_digest)) return finish(store, options, manifest.config_digest, manifest.names, true);
    if (::mkdir(rootfs_path.c_str(), 0755) != 0) return fail_errno("create " + rootfs_path.string(), errno);
    auto rootfs = RootfsDir::open(rootfs_path);
    if (!rootfs) return std::unexpected(rootfs.error());
    if (auto applied = apply_layers(*source, manifest, *rootfs, budget, specials, options); !applied) {
      return std::unexpected(applied.error());
    }
  } else if (opened->kind == SourceKind::rootfs_tar) {
    if (::rename(opened->dir.c_str(), rootfs_path.c_str()) != 0) return fail_errno("move the unpacked rootfs", errno);
    specials = std::move(opened->specials);
  } else {
    if (::mkdir(rootfs_path.c_str(), 0755) != 0) return fail_errno("create " + rootfs_path.string(), errno);
    auto rootfs = RootfsDir::open(rootfs_path);
    if (!rootfs) return std::unexpected(rootfs.error());
    if (auto copied = copy_rootfs_dir(options.source, *rootfs, budget, specials); !copied) {
      return std::unexpected(copied.error());
    }
  }
  std::error_code ec;
  fs::remove_all(*staging / "source", ec);

  report(options, {"rootfs", 0, 0, "", 0, false});
  auto tree = digest_tree(rootfs_path, specials);
  if (!tree) return std::unexpected(tree.error());
  if (!layered) {
    // A plain rootfs has no config: synthesize one so the same tree always
    // gets the same digest.
    manifest.config_bytes = synthesize_rootfs_config(tree->digest);
    manifest.config_digest = "sha256:" + sha256_hex(manifest.config_bytes);
    auto config = parse_image_config(manifest.config_bytes);
    if (!config) return std::unexpected(config.error());
    manifest.config = std::move(*config);
    if (store.contains(manifest.config_digest)) return finish(store, options, manifest.config_digest, {}, true);
  }
  report(options, {"rootfs", 0, 0, tree->digest, tree->content_bytes, true});

  ImageRecord record;
  record.digest = manifest.config_digest;
  record.config = manifest.config;
  record.rootfs_digest = tree->digest;
  record.rootfs_entries = tree->entries;
  record.rootfs_bytes = tree->content_bytes;
  record.source_kind = std::string(to_string(opened->kind));
  record.source = fs::absolute(options.source, ec).string();
  record.imported_at = rfc3339_now();
  record.warnings = specials.warnings();
  if (auto written = write_file_durable(*staging / "config.json", manifest.config_bytes, 0600); !written) {
    return std::unexpected(written.error());
  }
  if (auto written = write_file_durable(*staging / kSpecialFilesName, to_json(specials).dump(2) + "\n", 0600); !written) {
    return std::unexpected(written.error());
  }
  if (auto written = write_file_durable(*staging / "record.json", to_json(record).dump(2) + "\n", 0600); !written) {
    return std::unexpected(written.error());
  }
  report(options, {"commit", 0, 0, record.digest, 0, false});
  if (auto committed = store.commit(*staging, record.digest); !committed) return std::unexpected(committed.error());
  guard.release();
  return finish(store, options, record.digest, manifest.names, false);
}

}  // namespace microagent::image
