#include "image/store/root_disk.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/atomic_file.hpp"
#include "common/process.hpp"
#include "common/sha256.hpp"
#include "image/oci/digest.hpp"
#include "image/oci/special_files.hpp"
#include "image/store/special_files_script.hpp"

namespace microagent::image {
namespace {

namespace fs = std::filesystem;

// 2020-01-01T00:00:00Z: every inode time and the superblock times (E2FSPROGS_FAKE_TIME).
constexpr const char* kFixedTime = "1577836800";
constexpr std::uint64_t kMiB = 1 << 20;

std::string uuid_from(std::string_view hex) {
  return fmt::format("{}-{}-{}-{}-{}", hex.substr(0, 8), hex.substr(8, 4), hex.substr(12, 4), hex.substr(16, 4),
                     hex.substr(20, 12));
}

Result<std::string> run_tool(const std::vector<std::string>& argv) {
  SpawnOptions options;
  options.extra_env["E2FSPROGS_FAKE_TIME"] = kFixedTime;
  auto out = run_command(argv, {}, options);
  if (!out) {
    if (out.error().code == ErrorCode::not_found) {
      return fail(ErrorCode::host_unavailable, argv[0] + " is not installed: apt-get install e2fsprogs");
    }
    return std::unexpected(out.error());
  }
  if (!out->status.success()) {
    return fail(ErrorCode::internal, fmt::format("{} failed ({}): {}", argv[0], out->status.describe(), out->err));
  }
  return out->out;
}

// debugfs exits 0 when a command in its script fails: its stderr says so.
Result<void> run_debugfs_script(const fs::path& built, const fs::path& script_path, const std::string& script,
                                std::string_view what) {
  if (auto written = write_file_durable(script_path, script); !written) return written;
  SpawnOptions options;
  options.extra_env["E2FSPROGS_FAKE_TIME"] = kFixedTime;
  auto out = run_command({"debugfs", "-w", "-f", script_path.string(), built.string()}, {}, options);
  if (!out) return fail(ErrorCode::host_unavailable, "debugfs is not installed: apt-get install e2fsprogs");
  const auto errors = debugfs_script_errors(out->err);
  if (!out->status.success() || !errors.empty()) {
    return fail(ErrorCode::internal, fmt::format("debugfs could not {} {}: {}", what, built.string(),
                                                 errors.empty() ? out->status.describe() : errors.front()));
  }
  return {};
}

// The image's devices, FIFOs and setuid/setgid modes, which its host rootfs
// holds only as stand-ins. An image imported before special-files.json existed
// has none recorded (its host tree holds the real nodes, which mke2fs copied).
Result<void> apply_special_files(const fs::path& image_dir, const fs::path& staging, const fs::path& built) {
  const fs::path records = image_dir / kSpecialFilesName;
  std::error_code ec;
  if (!fs::exists(records, ec)) return {};
  auto text = read_file(records);
  if (!text) return std::unexpected(text.error());
  auto specials = special_files_from_json(*text);
  if (!specials) return fail(specials.error().code, records.string() + ": " + specials.error().message);
  if (specials->files().empty()) return {};
  auto script = special_files_script(*specials, std::atoll(kFixedTime));
  if (!script) return std::unexpected(script.error());
  return run_debugfs_script(built, staging / "special-files.debugfs", *script,
                            "make the image's devices, FIFOs and setuid files in");
}

// The inode numbers in use, from dumpe2fs's per-group "Free inodes: a-b, c"
// lists: every inode of the filesystem not listed as free.
Result<std::vector<std::uint64_t>> used_inodes(const fs::path& built) {
  auto listing = run_tool({"dumpe2fs", built.string()});
  if (!listing) return std::unexpected(listing.error());
  const auto count_at = listing->find("Inode count:");
  if (count_at == std::string::npos) return fail(ErrorCode::internal, "dumpe2fs " + built.string() + ": no inode count");
  const std::uint64_t count = std::strtoull(listing->c_str() + count_at + 12, nullptr, 10);
  std::vector<bool> free(count + 1, false);
  constexpr std::string_view kFree = "  Free inodes: ";
  for (auto at = listing->find(kFree); at != std::string::npos; at = listing->find(kFree, at + 1)) {
    const char* p = listing->c_str() + at + kFree.size();
    while (*p >= '0' && *p <= '9') {
      char* next = nullptr;
      const std::uint64_t first = std::strtoull(p, &next, 10);
      std::uint64_t last = first;
      if (*next == '-') last = std::strtoull(next + 1, &next, 10);
      for (std::uint64_t ino = first; ino <= last && ino <= count; ++ino) free[ino] = true;
      p = next;
      while (*p == ',' || *p == ' ') ++p;
    }
  }
  std::vector<std::uint64_t> used;
  for (std::uint64_t ino = 1; ino <= count; ++ino) {
    if (!free[ino]) used.push_back(ino);
  }
  return used;
}

// `mke2fs -d` copies each host inode's ctime and atime, which are the time of
// the import and of the last read: set them to the fixed time, or two imports
// of one image a second apart give different disks. By inode number, not by
// path: a name a debugfs script cannot carry (a newline) is covered too.
Result<void> fix_host_times(const fs::path& built, const fs::path& staging) {
  auto used = used_inodes(built);
  if (!used) return std::unexpected(used.error());
  std::string script = fmt::format("set_current_time @{}\n", kFixedTime);
  for (const std::uint64_t ino : *used) {
    if (ino == 1 || (ino >= 3 && ino <= 10)) continue;  // reserved: bad blocks, journal, resize; mke2fs's own times
    script += fmt::format("sif <{0}> ctime @{1}\nsif <{0}> atime @{1}\n", ino, kFixedTime);
  }
  return run_debugfs_script(built, staging / "host-times.debugfs", script, "fix the inode times in");
}

// debugfs commands that add the guest init and the missing mount points.
std::string injection_script(const fs::path& staged_guestinit, const fs::path& rootfs) {
  std::string script = fmt::format("set_current_time @{}\n", kFixedTime);
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(rootfs / ".microagent", ec))) script += "mkdir .microagent\n";
  if (fs::exists(fs::symlink_status(rootfs / ".microagent" / "guestinit", ec))) script += "rm .microagent/guestinit\n";
  script += fmt::format("write {} .microagent/guestinit\n", staged_guestinit.string());
  for (const char* field : {"mode 0100755", "uid 0", "gid 0"}) {
    script += fmt::format("sif .microagent/guestinit {}\n", field);
  }
  for (const char* field : {"atime", "mtime", "ctime", "crtime"}) {
    script += fmt::format("sif .microagent/guestinit {} @{}\n", field, kFixedTime);
  }
  for (const char* mount : {"proc", "sys", "dev", "run", "tmp"}) {
    if (!fs::exists(fs::symlink_status(rootfs / mount, ec))) script += fmt::format("mkdir {}\n", mount);
  }
  return script;
}

Result<RootDisk> read_cached(const fs::path& image, const fs::path& sidecar) {
  std::error_code ec;
  if (!fs::exists(image, ec) || !fs::exists(sidecar, ec)) return fail(ErrorCode::not_found, "not cached");
  auto text = read_file(sidecar);
  if (!text) return std::unexpected(text.error());
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("sha256")) return fail(ErrorCode::not_found, "corrupt sidecar");
  return RootDisk{image, j.value("sha256", ""), j.value("sizeBytes", std::uint64_t{0}), false};
}

}  // namespace

std::uint64_t root_disk_size(std::uint64_t content_bytes, std::uint64_t entries) {
  // Each inode costs at least a block of data or directory space.
  const std::uint64_t content = content_bytes + entries * 4096;
  const std::uint64_t total = content + content / 4 + 64 * kMiB;
  return (total + kMiB - 1) / kMiB * kMiB;
}

Result<RootDisk> ensure_root_disk(const ImageStore& store, const std::string& digest, const fs::path& guestinit_path) {
  auto record = store.resolve(digest);
  if (!record) return std::unexpected(record.error());
  auto guestinit_sha = sha256_file(guestinit_path);
  if (!guestinit_sha) {
    return fail(guestinit_sha.error().code, "guest init " + guestinit_path.string() + ": " + guestinit_sha.error().message);
  }
  const fs::path disks = record->dir / "disks";
  const std::string stem = "root-" + guestinit_sha->substr(0, 16);
  const fs::path image = disks / (stem + ".ext4");
  const fs::path sidecar = disks / (stem + ".json");
  if (auto cached = read_cached(image, sidecar)) return cached;

  auto staging = store.make_staging_dir("disk");
  if (!staging) return std::unexpected(staging.error());
  struct Cleanup {
    fs::path dir;
    ~Cleanup() { std::error_code ec; fs::remove_all(dir, ec); }
  } cleanup{*staging};

  // debugfs `write` copies the host file's times: stage a copy with fixed ones.
  const fs::path staged_guestinit = *staging / "guestinit";
  std::error_code ec;
  fs::copy_file(guestinit_path, staged_guestinit, ec);
  if (ec) return fail(ErrorCode::internal, "copy the guest init: " + ec.message());
  timespec fixed[2] = {{std::atoll(kFixedTime), 0}, {std::atoll(kFixedTime), 0}};
  ::utimensat(AT_FDCWD, staged_guestinit.c_str(), fixed, 0);

  const std::string seed = sha256_hex(digest + "\n" + *guestinit_sha);
  const std::uint64_t size = root_disk_size(record->rootfs_bytes, record->rootfs_entries);
  const std::uint64_t inodes = record->rootfs_entries + record->rootfs_entries / 4 + 1024;
  const fs::path built = *staging / "root.ext4";
  if (auto made = write_file_durable(built, ""); !made) return std::unexpected(made.error());
  if (::truncate(built.c_str(), static_cast<off_t>(size)) != 0) return fail_errno("size " + built.string(), errno);
  if (auto made = run_tool({"mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-N", std::to_string(inodes), "-L",
                            "microagent-root", "-U", uuid_from(seed.substr(0, 32)), "-E",
                            "root_owner=0:0,hash_seed=" + uuid_from(seed.substr(32, 32)), "-d",
                            record->rootfs.string(), built.string()});
      !made) {
    return std::unexpected(made.error());
  }
  if (auto fixed = fix_host_times(built, *staging); !fixed) return std::unexpected(fixed.error());
  // Before the guest init goes in: whatever the image put at its path, ours wins.
  if (auto applied = apply_special_files(record->dir, *staging, built); !applied) return std::unexpected(applied.error());
  const fs::path script = *staging / "inject.debugfs";
  if (auto written = write_file_durable(script, injection_script(staged_guestinit, record->rootfs)); !written) {
    return std::unexpected(written.error());
  }
  if (auto injected = run_tool({"debugfs", "-w", "-f", script.string(), built.string()}); !injected) {
    return std::unexpected(injected.error());
  }
  // debugfs exits 0 even when a command fails: check the result instead.
  auto stat = run_tool({"debugfs", "-R", "stat /.microagent/guestinit", built.string()});
  if (!stat) return std::unexpected(stat.error());
  const auto expected_size = fs::file_size(staged_guestinit, ec);
  if (stat->find("Type: regular") == std::string::npos || stat->find("Mode:  0755") == std::string::npos ||
      stat->find(fmt::format("Size: {}", expected_size)) == std::string::npos) {
    return fail(ErrorCode::internal, "debugfs did not inject /.microagent/guestinit into " + built.string() +
                                         " (is .microagent in the image something other than a directory?)");
  }
  auto disk_sha = sha256_file(built);
  if (!disk_sha) return std::unexpected(disk_sha.error());

  if (auto made = ensure_directory(disks, 0700); !made) return std::unexpected(made.error());
  if (UniqueFd fd(::open(built.c_str(), O_RDONLY | O_CLOEXEC)); !fd || ::fsync(fd.get()) != 0) {
    return fail_errno("sync " + built.string(), errno);
  }
  if (::rename(built.c_str(), image.c_str()) != 0) return fail_errno("move the root disk into " + disks.string(), errno);
  nlohmann::json meta = {{"sha256", *disk_sha}, {"sizeBytes", size}, {"imageDigest", digest},
                         {"guestinitSha256", *guestinit_sha}};
  if (auto written = write_file_atomic(sidecar, meta.dump(2) + "\n", 0600); !written) return std::unexpected(written.error());
  return RootDisk{image, *disk_sha, size, true};
}

}  // namespace microagent::image
