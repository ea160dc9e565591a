#include "image/kernel_artifact.hpp"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>
#include <system_error>

#include <fmt/format.h>

#include "common/sha256.hpp"
#include "image/bzimage.hpp"
#include "common/atomic_file.hpp"
#include "image/host_command.hpp"
#include "image/kernel_deb.hpp"

namespace microagent::image {
namespace fs = std::filesystem;
namespace {

constexpr int kManifestSchema = 1;
const std::string kFetchHint = "run: microagent kernel fetch";

// Removes a scratch directory however the fetch ends.
class ScratchDir {
 public:
  explicit ScratchDir(fs::path path) : path_(std::move(path)) {}
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

bool valid_release(std::string_view release) {
  if (release.empty() || release == "." || release == ".." || release.front() == '.') return false;
  return release.find('/') == std::string_view::npos && release.find('\n') == std::string_view::npos;
}

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) text.pop_back();
  std::size_t start = text.find_first_not_of(" \t");
  return start == std::string::npos ? std::string() : text.substr(start);
}

std::string apt_update_hint(std::string_view package) {
  return fmt::format("apt does not know package {}: the package lists are missing or stale; run: apt-get update",
                     package);
}

Result<std::string> resolve_package(const std::string& metapackage) {
  auto out = run_host_command({"apt-cache", "depends", metapackage}, std::nullopt, "apt");
  if (!out) return std::unexpected(out.error());
  if (out->exit_code != 0) {
    return fail(ErrorCode::not_found, apt_update_hint(metapackage) + " (" + trim(out->err) + ")");
  }
  return kernel_package_from_depends(out->out, metapackage);
}

Result<fs::path> download_package(const std::string& package, const fs::path& dir) {
  auto out = run_host_command({"apt-get", "download", package}, dir, "apt");
  if (!out) return std::unexpected(out.error());
  if (out->exit_code != 0) {
    std::string err = trim(out->err);
    if (err.find("Unable to locate") != std::string::npos || err.find("Can't select") != std::string::npos ||
        err.find("has no installation candidate") != std::string::npos) {
      return fail(ErrorCode::not_found, apt_update_hint(package) + " (" + err + ")");
    }
    return fail(ErrorCode::host_unavailable,
                "apt-get download " + package + " failed: " + err + " (check network access to the Debian mirror)");
  }
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".deb") return entry.path();
  }
  return fail(ErrorCode::internal, "apt-get download " + package + " reported success but left no .deb in " +
                                       dir.string());
}

// The release is what the kernel reports in `uname -r`: the suffix of boot/vmlinuz-<release>.
Result<std::string> find_release(const fs::path& tree) {
  std::string release;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(tree / "boot", ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("vmlinuz-", 0) != 0) continue;
    if (!release.empty()) return fail(ErrorCode::invalid_request, "the kernel package holds more than one vmlinuz");
    release = name.substr(8);
  }
  if (release.empty() || !valid_release(release)) {
    return fail(ErrorCode::invalid_request, "the kernel package holds no boot/vmlinuz-<release>: is it a linux-image package?");
  }
  if (!fs::is_directory(tree / "lib" / "modules" / release)) {
    return fail(ErrorCode::invalid_request, "the kernel package has no lib/modules/" + release);
  }
  return release;
}

Result<void> run_depmod(const fs::path& tree, const std::string& release) {
  auto out = run_host_command({"depmod", "-b", tree.string(), release}, std::nullopt, "kmod");
  if (!out) {
    // Debian keeps depmod in /sbin, which is not on every user's PATH.
    out = run_host_command({"/sbin/depmod", "-b", tree.string(), release}, std::nullopt, "kmod");
    if (!out) return std::unexpected(out.error());
  }
  if (out->exit_code != 0) return fail(ErrorCode::internal, "depmod -b " + tree.string() + " failed: " + trim(out->err));
  if (!fs::exists(tree / "lib" / "modules" / release / "modules.dep")) {
    return fail(ErrorCode::internal, "depmod ran but wrote no modules.dep");
  }
  return {};
}

Result<void> rename_into(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::rename(from, to, ec);
  if (ec) return fail(ErrorCode::internal, "cannot move " + from.string() + " to " + to.string() + ": " + ec.message());
  return {};
}

// Turns the extracted package tree into the artifact layout.
Result<std::map<std::string, std::string>> build_artifact_files(const fs::path& tree, const std::string& release) {
  const fs::path boot = tree / "boot";
  auto bzimage = read_file(boot / ("vmlinuz-" + release));
  if (!bzimage) return std::unexpected(bzimage.error());
  auto vmlinux = extract_vmlinux(*bzimage);
  if (!vmlinux) return std::unexpected(vmlinux.error());
  if (!elf_has_pvh_note(*vmlinux)) {
    return fail(ErrorCode::unsupported, "the vmlinux of " + release +
                                            " has no Xen PVH entry note: QEMU cannot boot it with -kernel; "
                                            "use a kernel built with CONFIG_PVH=y (Debian's cloud kernel is)");
  }
  if (auto w = write_file_durable(tree / "vmlinux", *vmlinux); !w) return std::unexpected(w.error());
  if (auto w = write_file_durable(tree / "bzImage", *bzimage); !w) return std::unexpected(w.error());
  std::map<std::string, std::string> sha{{"vmlinux", sha256_hex(*vmlinux)}, {"bzImage", sha256_hex(*bzimage)}};
  if (auto r = rename_into(boot / ("config-" + release), tree / "config"); !r) return std::unexpected(r.error());
  if (fs::exists(boot / ("System.map-" + release))) {
    if (auto r = rename_into(boot / ("System.map-" + release), tree / "System.map"); !r) return std::unexpected(r.error());
  }
  std::error_code ec;
  fs::remove_all(boot, ec);
  return sha;
}

KernelArtifact artifact_at(const fs::path& dir, const std::string& release) {
  KernelArtifact artifact;
  artifact.dir = dir;
  artifact.release = release;
  artifact.vmlinux = dir / "vmlinux";
  artifact.bzimage = dir / "bzImage";
  artifact.modules_dir = dir / "lib" / "modules" / release;
  return artifact;
}

std::string utc_now() {
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

Result<void> point_current_at(const fs::path& root, const std::string& release) {
  // A symlink swapped in with rename(2): readers see the old or the new release, never neither.
  fs::path temp = root / (".current-" + temp_suffix());
  if (::symlink(release.c_str(), temp.c_str()) != 0) return fail_errno("cannot create " + temp.string(), errno);
  if (::rename(temp.c_str(), (root / "current").c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    return fail_errno("cannot update " + (root / "current").string(), err);
  }
  return fsync_directory(root);
}

// Moves the finished tree to <root>/<release>. A directory already there is
// kept when it verifies (a concurrent fetch won the race) unless `replace`.
Result<KernelArtifact> install_tree(const fs::path& tree, const fs::path& root, const KernelArtifact& built,
                                    bool replace) {
  fs::path final_dir = root / built.release;
  if (::rename(tree.c_str(), final_dir.c_str()) != 0) {
    if (errno != ENOTEMPTY && errno != EEXIST) return fail_errno("cannot install " + final_dir.string(), errno);
    if (!replace) {
      KernelArtifact existing = artifact_at(final_dir, built.release);
      existing.package = built.package;
      existing.package_version = built.package_version;
      existing.sha256 = built.sha256;
      if (verify_kernel_artifact(existing)) return existing;
    }
    fs::path old = root / (".old-" + built.release + "-" + temp_suffix());
    if (::rename(final_dir.c_str(), old.c_str()) != 0) return fail_errno("cannot move aside " + final_dir.string(), errno);
    if (::rename(tree.c_str(), final_dir.c_str()) != 0) return fail_errno("cannot install " + final_dir.string(), errno);
    std::error_code ec;
    fs::remove_all(old, ec);
  }
  if (auto synced = fsync_directory(root); !synced) return std::unexpected(synced.error());
  return artifact_at(final_dir, built.release);
}

}  // namespace

Result<std::string> kernel_package_from_depends(std::string_view output, std::string_view metapackage) {
  std::size_t pos = 0;
  while (pos < output.size()) {
    std::size_t end = output.find('\n', pos);
    if (end == std::string_view::npos) end = output.size();
    std::string_view line = output.substr(pos, end - pos);
    pos = end + 1;
    std::size_t key = line.find("Depends:");
    if (key == std::string_view::npos || line.find("PreDepends:") != std::string_view::npos) continue;
    std::string_view value = line.substr(key + 8);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\r')) value.remove_suffix(1);
    // "<linux-image-...>" in angle brackets is a virtual package: not downloadable.
    if (value.rfind("linux-image-", 0) == 0 && value != metapackage) return std::string(value);
  }
  return fail(ErrorCode::not_found, fmt::format("{} depends on no linux-image-<release> package: {}", metapackage,
                                                apt_update_hint(metapackage)));
}

Result<KernelArtifact> load_kernel_artifact(const fs::path& cache_root) {
  const fs::path current = cache_root / "current";
  std::error_code ec;
  std::string release;
  auto status = fs::symlink_status(current, ec);
  if (ec || !fs::exists(status)) {
    return fail(ErrorCode::not_found, "no guest kernel in " + cache_root.string() + ": " + kFetchHint);
  }
  if (fs::is_symlink(status)) {
    release = fs::read_symlink(current, ec).string();
    if (ec) return fail(ErrorCode::internal, "cannot read " + current.string() + ": " + ec.message());
  } else {
    auto text = read_file(current);
    if (!text) return std::unexpected(text.error());
    release = trim(*text);
  }
  if (!valid_release(release)) {
    return fail(ErrorCode::internal, current.string() + " names no valid release ('" + release + "'): " + kFetchHint +
                                         " --force");
  }
  KernelArtifact artifact = artifact_at(cache_root / release, release);
  auto manifest_text = read_file(artifact.dir / "manifest.json");
  if (!manifest_text) {
    return fail(ErrorCode::not_found, "kernel " + release + " in " + cache_root.string() + " has no manifest.json: " +
                                          kFetchHint + " --force");
  }
  auto manifest = nlohmann::json::parse(*manifest_text, nullptr, false);
  if (manifest.is_discarded() || !manifest.is_object() || manifest.value("release", "") != release ||
      !manifest.contains("sha256") || !manifest["sha256"].is_object()) {
    return fail(ErrorCode::internal,
                (artifact.dir / "manifest.json").string() + " is corrupt: " + kFetchHint + " --force");
  }
  artifact.package = manifest.value("package", "");
  artifact.package_version = manifest.value("packageVersion", "");
  for (const auto& [key, value] : manifest["sha256"].items()) {
    if (value.is_string()) artifact.sha256[key] = value.get<std::string>();
  }
  return artifact;
}

Result<void> verify_kernel_artifact(const KernelArtifact& artifact) {
  for (const auto& [key, path] : {std::pair{"vmlinux", artifact.vmlinux}, std::pair{"bzImage", artifact.bzimage}}) {
    auto expected = artifact.sha256.find(key);
    if (expected == artifact.sha256.end()) {
      return fail(ErrorCode::internal, "kernel artifact manifest has no SHA-256 for " + std::string(key) + ": " +
                                           kFetchHint + " --force");
    }
    auto actual = sha256_file(path);
    if (!actual) {
      return fail(ErrorCode::internal, "kernel artifact file " + path.string() + " is unreadable (" +
                                           actual.error().message + "): " + kFetchHint + " --force");
    }
    if (*actual != expected->second) {
      return fail(ErrorCode::internal, "kernel artifact file " + path.string() + " has SHA-256 " + *actual +
                                           ", the manifest says " + expected->second + ": " + kFetchHint + " --force");
    }
  }
  if (!fs::exists(artifact.modules_dir / "modules.dep")) {
    return fail(ErrorCode::internal,
                "kernel artifact has no " + (artifact.modules_dir / "modules.dep").string() + ": " + kFetchHint + " --force");
  }
  return {};
}

Result<KernelArtifact> fetch_kernel_artifact(const KernelFetchOptions& options) {
  const fs::path root = options.cache_root.empty() ? fs::path(".") : options.cache_root;
  if (!options.force) {
    if (auto cached = load_kernel_artifact(root); cached && verify_kernel_artifact(*cached)) return cached;
  }
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) return fail(ErrorCode::permission_denied, "cannot create kernel cache " + root.string() + ": " + ec.message());

  auto package = resolve_package(options.metapackage);
  if (!package) return std::unexpected(package.error());

  // Scratch space beside the cache, so the finished tree is renamed, never copied.
  ScratchDir scratch(root / (".fetch-" + temp_suffix()));
  const fs::path download = scratch.path() / "download";
  const fs::path tree = scratch.path() / "tree";
  fs::create_directories(download, ec);
  if (!ec) fs::create_directories(tree, ec);
  if (ec) return fail(ErrorCode::internal, "cannot create " + scratch.path().string() + ": " + ec.message());

  auto deb = download_package(*package, download);
  if (!deb) return std::unexpected(deb.error());
  auto deb_sha = sha256_file(*deb);
  if (!deb_sha) return std::unexpected(deb_sha.error());
  auto contents = extract_kernel_deb(*deb, tree);
  if (!contents) return std::unexpected(contents.error());
  auto release = find_release(tree);
  if (!release) return std::unexpected(release.error());
  if (auto depmod = run_depmod(tree, *release); !depmod) return std::unexpected(depmod.error());
  auto sha = build_artifact_files(tree, *release);
  if (!sha) return std::unexpected(sha.error());
  (*sha)["deb"] = *deb_sha;

  KernelArtifact built = artifact_at(tree, *release);
  built.package = contents->package.empty() ? *package : contents->package;
  built.package_version = contents->version;
  built.sha256 = *sha;
  nlohmann::json manifest = {
      {"schemaVersion", kManifestSchema},
      {"metapackage", options.metapackage},
      {"package", built.package},
      {"packageVersion", built.package_version},
      {"release", built.release},
      {"debFile", deb->filename().string()},
      {"sha256", built.sha256},
      {"fetchedAt", utc_now()},
  };
  if (auto w = write_file_durable(tree / "manifest.json", manifest.dump(2) + "\n"); !w) return std::unexpected(w.error());

  auto installed = install_tree(tree, root, built, options.force);
  if (!installed) return std::unexpected(installed.error());
  installed->package = built.package;
  installed->package_version = built.package_version;
  installed->sha256 = built.sha256;
  if (auto current = point_current_at(root, built.release); !current) return std::unexpected(current.error());
  return installed;
}

}  // namespace microagent::image
