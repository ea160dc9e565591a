#include "backends/linux_kvm/workspace_manifest.hpp"

#include <sys/stat.h>

#include <cerrno>

#include "common/atomic_file.hpp"
#include "common/clock.hpp"
#include "common/paths.hpp"
#include "common/sha256.hpp"

namespace microagent::linux_kvm {
namespace {

using nlohmann::json;

// Files whose hashes the manifest keeps, by item name.
constexpr const char* kHashedItems[] = {"kernel", "initrd", "rootfs", "guestinit"};

// What identifies a file's content without reading it; ctime cannot be set
// by a user, so any write or metadata change shows.
Result<json> file_identity(const std::filesystem::path& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return fail_errno("stat " + path.string(), errno);
  return json{{"dev", st.st_dev},
              {"ino", st.st_ino},
              {"size", st.st_size},
              {"mtime", st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec},
              {"ctime", st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec}};
}

Result<std::string> cached_sha256(const std::filesystem::path& path, const std::filesystem::path& cache_dir) {
  if (cache_dir.empty()) return sha256_file(path);
  auto identity = file_identity(path);
  if (!identity) return std::unexpected(identity.error());
  const auto entry_path = cache_dir / (sha256_hex(std::filesystem::absolute(path).string()) + ".json");
  if (auto text = read_file(entry_path)) {
    auto entry = json::parse(*text, nullptr, false);
    if (entry.is_object() && entry.value("identity", json()) == *identity) return entry.value("sha256", "");
  }
  auto hash = sha256_file(path);
  if (!hash) return hash;
  // The cache is an optimisation: failing to write it changes nothing.
  if (ensure_directory(cache_dir, 0700)) {
    write_file_atomic(entry_path, json{{"path", path.string()}, {"identity", *identity}, {"sha256", *hash}}.dump());
  }
  return hash;
}

Result<json> hashed_file(const std::filesystem::path& path, const std::filesystem::path& cache_dir) {
  auto hash = cached_sha256(path, cache_dir);
  if (!hash) return std::unexpected(hash.error());
  return json{{"path", path.string()}, {"sha256", *hash}};
}

Result<std::optional<json>> read_manifest(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::optional<json>{};
  auto text = read_file(path);
  if (!text) return std::unexpected(text.error());
  auto doc = json::parse(*text, nullptr, false);
  if (!doc.is_object()) return fail(ErrorCode::internal, "workspace manifest " + path.string() + " is not a JSON object");
  return std::optional<json>(std::move(doc));
}

}  // namespace

std::filesystem::path hash_cache_dir(const std::filesystem::path& state_dir) { return state_dir / "cache" / "sha256"; }

std::filesystem::path installed_guestinit() {
  const auto path = executable_dir() / "microagent-guestinit-x86_64";
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec) ? path : std::filesystem::path{};
}

Result<json> write_workspace_manifest(const std::filesystem::path& manifest_path, const ManifestInputs& inputs) {
  json manifest{{"version", 1}, {"writtenAt", rfc3339_now()}};
  if (inputs.image) manifest["image"] = {{"reference", inputs.image->reference}, {"digest", inputs.image->digest}};
  const std::pair<const char*, const std::filesystem::path*> files[] = {
      {"kernel", &inputs.kernel}, {"initrd", &inputs.initrd}, {"rootfs", &inputs.rootfs_base}, {"guestinit", &inputs.guestinit}};
  for (const auto& [item, path] : files) {
    if (path->empty()) continue;
    auto entry = hashed_file(*path, inputs.hash_cache);
    if (!entry) return std::unexpected(entry.error());
    manifest[item] = *entry;
  }
  if (!inputs.rootfs_overlay.empty()) manifest["rootfs"]["overlay"] = inputs.rootfs_overlay.string();
  manifest["published"] = json::array();
  for (const auto& f : inputs.published) {
    manifest["published"].push_back({{"host", f.host},
                                     {"hostPort", f.host_port},
                                     {"guestPort", f.guest_port},
                                     {"protocol", f.protocol},
                                     {"exposed", f.exposed}});
  }

  auto previous = read_manifest(manifest_path);
  if (!previous) return std::unexpected(previous.error());
  if (*previous && (*previous)->contains("rootfs") && manifest.contains("rootfs")) {
    const auto& before = (**previous)["rootfs"];
    if (before.value("sha256", "") != manifest["rootfs"].value("sha256", "")) {
      return fail(ErrorCode::conflict, "the root disk base " + manifest["rootfs"].value("path", "") +
                                           " changed since this workspace was created (sha256 " +
                                           before.value("sha256", "") + " recorded): its overlay no longer matches; "
                                           "delete the workspace and create it again");
    }
  }
  if (auto ok = write_file_durable(manifest_path, manifest.dump(2) + "\n", 0644); !ok) return std::unexpected(ok.error());
  return manifest;
}

Result<json> verify_workspace_manifest(const std::filesystem::path& manifest_path) {
  auto recorded = read_manifest(manifest_path);
  if (!recorded) return std::unexpected(recorded.error());
  if (!*recorded) return fail(ErrorCode::not_found, "workspace has no manifest (" + manifest_path.string() + ")");
  json report = **recorded;
  json divergences = json::array();
  for (const char* item : kHashedItems) {
    if (!report.contains(item)) continue;
    const std::string path = report[item].value("path", "");
    const std::string expected = report[item].value("sha256", "");
    auto actual = sha256_file(path);
    const std::string now = actual ? *actual : "unreadable: " + actual.error().message;
    report[item]["actualSha256"] = now;
    if (now != expected) divergences.push_back({{"item", item}, {"path", path}, {"recorded", expected}, {"actual", now}});
  }
  report["verified"] = divergences.empty();
  report["verifiedAt"] = rfc3339_now();
  report["divergences"] = std::move(divergences);
  return report;
}

}  // namespace microagent::linux_kvm
