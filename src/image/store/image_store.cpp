#include "image/store/image_store.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cerrno>

#include <fmt/format.h>

#include "common/atomic_file.hpp"
#include "common/unique_fd.hpp"
#include "image/oci/digest.hpp"

namespace microagent::image {
namespace {

namespace fs = std::filesystem;

bool is_hex(std::string_view text) {
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return !text.empty();
}

// Staging names end in ".<pid>.<random>" (temp_suffix): a directory whose
// process is gone is left over from a crash.
bool owner_alive(const std::string& name) {
  auto dot = name.find(".tmp.");
  if (dot == std::string::npos) return false;
  pid_t pid = static_cast<pid_t>(std::atoll(name.c_str() + dot + 5));
  return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
}

}  // namespace

Result<ImageStore> ImageStore::open(const fs::path& state_dir) {
  const fs::path root = state_dir / "images";
  for (const fs::path& dir : {state_dir, root, root / "sha256", root / "tmp"}) {
    if (auto made = ensure_directory(dir, 0700); !made) return std::unexpected(made.error());
  }
  ::chmod(root.c_str(), 0700);
  return ImageStore(root);
}

fs::path ImageStore::image_dir(const std::string& digest) const { return root_ / "sha256" / digest_hex(digest); }

Result<FileLock> ImageStore::lock() const { return FileLock::acquire(root_ / ".lock"); }

bool ImageStore::contains(const std::string& digest) const {
  std::error_code ec;
  return validate_digest(digest) && fs::exists(image_dir(digest) / "record.json", ec);
}

std::optional<std::string> ImageStore::digest_for(const std::string& ref, const RefMap& refs) const {
  if (validate_digest(ref)) return contains(ref) ? std::optional(ref) : std::nullopt;
  if (auto it = refs.find(ref); it != refs.end()) return it->second;
  auto colon = ref.rfind(':');
  const bool tagged = colon != std::string::npos && ref.find('/', colon) == std::string::npos;
  // "img" also finds "img:latest", and a bare name the Docker Hub form docker save writes.
  std::vector<std::string> candidates;
  if (!tagged) candidates.push_back(ref + ":latest");
  if (ref.find('/') == std::string::npos) {
    candidates.push_back("docker.io/library/" + ref);
    if (!tagged) candidates.push_back("docker.io/library/" + ref + ":latest");
  }
  for (const auto& candidate : candidates) {
    if (auto it = refs.find(candidate); it != refs.end()) return it->second;
  }
  std::string prefix = ref.starts_with("sha256:") ? ref.substr(7) : ref;
  if (prefix.size() < 8 || !is_hex(prefix)) return std::nullopt;
  std::optional<std::string> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root_ / "sha256", ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(prefix)) continue;
    if (found) return std::nullopt;  // ambiguous
    found = "sha256:" + name;
  }
  return found;
}

Result<ImageRecord> ImageStore::load(const std::string& digest, const RefMap& refs) const {
  const fs::path dir = image_dir(digest);
  auto text = read_file(dir / "record.json");
  if (!text) {
    return fail(ErrorCode::not_found, fmt::format("image {} is not in the store {} (import it again)", digest, root_.string()));
  }
  auto record = image_record_from_json(*text);
  if (!record) return record;
  record->dir = dir;
  record->rootfs = dir / "rootfs";
  for (const auto& [name, target] : refs) {
    if (target == digest) record->names.push_back(name);
  }
  return record;
}

Result<ImageRecord> ImageStore::resolve(const std::string& ref) const {
  auto refs = read_ref_index(root_ / "refs.json");
  if (!refs) return std::unexpected(refs.error());
  auto digest = digest_for(ref, *refs);
  if (!digest || !contains(*digest)) {
    return fail(ErrorCode::not_found,
                fmt::format("no image '{}' in {}: import it with `microagent image import SOURCE --name {}`, "
                            "or list images with `microagent image ls`", ref, root_.string(), ref));
  }
  return load(*digest, *refs);
}

Result<std::vector<ImageRecord>> ImageStore::list() const {
  auto refs = read_ref_index(root_ / "refs.json");
  if (!refs) return std::unexpected(refs.error());
  std::vector<std::string> digests;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root_ / "sha256", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() == 64 && is_hex(name) && contains("sha256:" + name)) digests.push_back("sha256:" + name);
  }
  std::sort(digests.begin(), digests.end());
  std::vector<ImageRecord> out;
  for (const auto& digest : digests) {
    auto record = load(digest, *refs);
    if (!record) return std::unexpected(record.error());
    out.push_back(std::move(*record));
  }
  return out;
}

Result<ImageRecord> ImageStore::remove(const std::string& ref) {
  auto held = lock();
  if (!held) return std::unexpected(held.error());
  auto record = resolve(ref);
  if (!record) return record;
  auto refs = read_ref_index(root_ / "refs.json");
  if (!refs) return std::unexpected(refs.error());
  std::erase_if(*refs, [&](const auto& item) { return item.second == record->digest; });
  if (auto written = write_ref_index(root_ / "refs.json", *refs); !written) return std::unexpected(written.error());
  // Rename first: the image stops being present at once, then the bytes go.
  const fs::path doomed = root_ / "tmp" / ("rm-" + digest_hex(record->digest) + temp_suffix());
  if (::rename(record->dir.c_str(), doomed.c_str()) != 0) return fail_errno("remove " + record->dir.string(), errno);
  fsync_directory(root_ / "sha256");
  std::error_code ec;
  fs::remove_all(doomed, ec);
  return record;
}

Result<fs::path> ImageStore::make_staging_dir(const std::string& purpose) const {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root_ / "tmp", ec)) {
    if (!owner_alive(entry.path().filename().string())) fs::remove_all(entry.path(), ec);
  }
  const fs::path dir = root_ / "tmp" / (purpose + temp_suffix());
  if (::mkdir(dir.c_str(), 0700) != 0) return fail_errno("create " + dir.string(), errno);
  return dir;
}

Result<void> ImageStore::commit(const fs::path& staging, const std::string& digest) {
  if (auto ok = validate_digest(digest); !ok) return ok;
  auto held = lock();
  if (!held) return std::unexpected(held.error());
  const fs::path target = image_dir(digest);
  std::error_code ec;
  if (contains(digest)) {
    fs::remove_all(staging, ec);
    return {};
  }
  // The rootfs must be on disk before the rename makes it present.
  if (UniqueFd fd(::open(staging.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)); !fd || ::syncfs(fd.get()) != 0) {
    return fail_errno("sync " + staging.string(), errno);
  }
  fs::remove_all(target, ec);  // a directory without record.json is debris, never an image
  if (::rename(staging.c_str(), target.c_str()) != 0) return fail_errno("move " + staging.string() + " into the store", errno);
  fsync_directory(root_ / "sha256");
  return {};
}

Result<void> ImageStore::add_refs(const std::vector<std::string>& names, const std::string& digest) {
  if (names.empty()) return {};
  for (const auto& name : names) {
    if (auto ok = validate_reference(name); !ok) return ok;
  }
  auto held = lock();
  if (!held) return std::unexpected(held.error());
  auto refs = read_ref_index(root_ / "refs.json");
  if (!refs) return std::unexpected(refs.error());
  for (const auto& name : names) (*refs)[name] = digest;
  return write_ref_index(root_ / "refs.json", *refs);
}

}  // namespace microagent::image
