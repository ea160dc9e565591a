#include "image/initramfs.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "common/sha256.hpp"
#include "common/unique_fd.hpp"
#include "common/atomic_file.hpp"
#include "image/host_command.hpp"
#include "image/module_order.hpp"
#include "image/newc_archive.hpp"

namespace microagent::image {
namespace fs = std::filesystem;
namespace {

// Bump when the archive layout changes, so old cache entries stop matching.
constexpr int kLayoutVersion = 1;

const char* const kBaseDirectories[] = {"dev", "proc", "sys", "tmp", "run", "mnt", "root", "etc"};

Result<std::vector<std::string>> resolve_modules(const InitramfsSpec& spec) {
  if (spec.modules.empty()) return std::vector<std::string>{};
  if (spec.kernel_release.empty() || spec.modules_dir.empty()) {
    return fail(ErrorCode::invalid_request, "initramfs modules need a kernel release and a modules directory");
  }
  auto dep = read_file(spec.modules_dir / "modules.dep");
  if (!dep) {
    return fail(ErrorCode::not_found, "no modules.dep in " + spec.modules_dir.string() +
                                          ": run: depmod -b <artifact dir> " + spec.kernel_release +
                                          " (or: microagent kernel fetch --force)");
  }
  auto index = ModuleIndex::parse(*dep);
  if (!index) return std::unexpected(index.error());
  if (auto builtin = read_file(spec.modules_dir / "modules.builtin")) index->add_builtin(*builtin);
  return index->load_order(spec.modules);
}

// `busybox --list-full` -> "bin/sh", "usr/bin/awk", ...
Result<std::vector<std::string>> busybox_applets(const fs::path& busybox) {
  auto out = run_host_command({busybox.string(), "--list-full"}, std::nullopt, "busybox-static");
  if (!out) return std::unexpected(out.error());
  if (out->exit_code != 0) {
    return fail(ErrorCode::host_unavailable, busybox.string() + " --list-full failed: is it busybox? (apt-get install busybox-static)");
  }
  std::vector<std::string> applets;
  std::size_t pos = 0;
  const std::string& text = out->out;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    while (!line.empty() && line.front() == '/') line.erase(0, 1);
    if (!line.empty()) applets.push_back(line);
  }
  return applets;
}

Result<NewcTree> build_tree(const InitramfsSpec& spec) {
  NewcTree tree;
  auto add = [&](std::string_view path, NewcNode node) { return tree.add(path, std::move(node)); };
  using Kind = NewcNode::Kind;

  for (const char* dir : kBaseDirectories) {
    if (auto r = add(dir, {Kind::directory, 0755, {}, 0, 0}); !r) return std::unexpected(r.error());
  }
  if (auto r = add("tmp", {Kind::directory, 01777, {}, 0, 0}); !r) return std::unexpected(r.error());
  if (auto r = add("root", {Kind::directory, 0700, {}, 0, 0}); !r) return std::unexpected(r.error());
  // The kernel opens /dev/console for init's stdio before any devtmpfs is mounted.
  if (auto r = add("dev/console", {Kind::char_device, 0600, {}, 5, 1}); !r) return std::unexpected(r.error());
  if (auto r = add("dev/null", {Kind::char_device, 0666, {}, 1, 3}); !r) return std::unexpected(r.error());

  auto init = read_file(spec.guest_init);
  if (!init) {
    return fail(ErrorCode::not_found, "guest init " + spec.guest_init.string() +
                                          " is unreadable (" + init.error().message +
                                          "): build microagent-guestinit-x86_64 or pass its path");
  }
  if (auto r = add("init", {Kind::file, 0755, std::move(*init), 0, 0}); !r) return std::unexpected(r.error());

  auto order = resolve_modules(spec);
  if (!order) return std::unexpected(order.error());
  std::string order_text;
  const std::string modules_root = "lib/modules/" + spec.kernel_release + "/";
  for (const auto& relpath : *order) {
    auto ko = read_file(spec.modules_dir / relpath);
    if (!ko) {
      return fail(ErrorCode::not_found, "module " + relpath + " listed in modules.dep is missing from " +
                                            spec.modules_dir.string() + ": run: microagent kernel fetch --force");
    }
    if (auto r = add(modules_root + relpath, {Kind::file, 0644, std::move(*ko), 0, 0}); !r) return std::unexpected(r.error());
    order_text += relpath + "\n";
  }
  if (auto r = add(kInitramfsModulesOrder, {Kind::file, 0644, std::move(order_text), 0, 0}); !r) {
    return std::unexpected(r.error());
  }

  for (const auto& file : spec.extra_files) {
    if (auto r = add(file.path, {Kind::file, file.mode & 07777, file.contents, 0, 0}); !r) {
      return fail(r.error().code == ErrorCode::conflict ? ErrorCode::invalid_request : r.error().code,
                  "extra file: " + r.error().message);
    }
  }

  if (spec.busybox) {
    auto binary = read_file(*spec.busybox);
    if (!binary) {
      return fail(ErrorCode::not_found, "busybox " + spec.busybox->string() + " is unreadable (" +
                                            binary.error().message + "): apt-get install busybox-static");
    }
    if (auto r = add(kInitramfsBusybox, {Kind::file, 0755, std::move(*binary), 0, 0}); !r) return std::unexpected(r.error());
    auto applets = busybox_applets(*spec.busybox);
    if (!applets) return std::unexpected(applets.error());
    const fs::path target = kInitramfsBusybox;
    for (const auto& applet : *applets) {
      // A "busybox" link would point at itself; files already placed (init, extras) win.
      if (fs::path(applet).filename() == "busybox" || tree.contains(applet)) continue;
      std::string link = target.lexically_relative(fs::path(applet).parent_path()).string();
      if (auto r = add(applet, {Kind::symlink, 0777, link, 0, 0}); !r) return std::unexpected(r.error());
    }
  }
  return tree;
}

}  // namespace

Result<void> write_initramfs(const InitramfsSpec& spec, const fs::path& out) {
  auto tree = build_tree(spec);
  if (!tree) return std::unexpected(tree.error());
  fs::path dir = out.parent_path().empty() ? fs::path(".") : out.parent_path();
  fs::path temp = dir / ("." + out.filename().string() + ".tmp-" + temp_suffix());
  UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd) return fail_errno("cannot create " + temp.string(), errno);
  auto cleanup_on_error = [&](Error error) -> Result<void> {
    ::unlink(temp.c_str());
    return std::unexpected(std::move(error));
  };
  if (auto written = tree->write(fd.get(), spec.gzip); !written) return cleanup_on_error(written.error());
  if (::fsync(fd.get()) != 0) return cleanup_on_error(fail_errno("cannot fsync " + temp.string(), errno).error());
  fd.reset();
  if (::rename(temp.c_str(), out.c_str()) != 0) {
    return cleanup_on_error(fail_errno("cannot rename " + temp.string() + " to " + out.string(), errno).error());
  }
  return fsync_directory(dir);
}

Result<std::string> initramfs_cache_key(const InitramfsSpec& spec) {
  // Length-prefixed fields: no two different specs serialise alike.
  std::string text = fmt::format("microagent-initramfs {}\n", kLayoutVersion);
  auto field = [&](std::string_view name, std::string_view value) {
    text += fmt::format("{} {}:{}\n", name, value.size(), value);
  };
  auto init_sha = sha256_file(spec.guest_init);
  if (!init_sha) return fail(ErrorCode::not_found, "guest init " + spec.guest_init.string() + ": " + init_sha.error().message);
  field("init", *init_sha);
  if (spec.busybox) {
    auto busybox_sha = sha256_file(*spec.busybox);
    if (!busybox_sha) return fail(ErrorCode::not_found, "busybox " + spec.busybox->string() + ": " + busybox_sha.error().message);
    field("busybox", *busybox_sha);
  } else {
    field("busybox", "");
  }
  field("release", spec.kernel_release);
  field("modules", std::to_string(spec.modules.size()));
  for (const auto& name : spec.modules) field("module", name);
  if (!spec.modules.empty()) {
    // modules.dep stands in for the module files: depmod rewrites it with them.
    auto dep_sha = sha256_file(spec.modules_dir / "modules.dep");
    field("modules.dep", dep_sha ? *dep_sha : std::string("missing"));
  }
  field("extra", std::to_string(spec.extra_files.size()));
  for (const auto& file : spec.extra_files) {
    field("path", file.path);
    field("mode", fmt::format("{:o}", file.mode));
    field("sha256", sha256_hex(file.contents));
  }
  field("gzip", spec.gzip ? "1" : "0");
  return sha256_hex(text);
}

Result<fs::path> cached_initramfs(const InitramfsSpec& spec, const fs::path& cache_dir) {
  auto key = initramfs_cache_key(spec);
  if (!key) return std::unexpected(key.error());
  fs::path path = cache_dir / ("initramfs-" + *key + (spec.gzip ? ".cpio.gz" : ".cpio"));
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return path;
  fs::create_directories(cache_dir, ec);
  if (ec) return fail(ErrorCode::permission_denied, "cannot create " + cache_dir.string() + ": " + ec.message());
  if (auto written = write_initramfs(spec, path); !written) return std::unexpected(written.error());
  return path;
}

Result<void> write_initramfs_with_files(const fs::path& base, const std::vector<InitramfsFile>& files,
                                        const fs::path& out) {
  auto base_bytes = read_file(base);
  if (!base_bytes) return std::unexpected(base_bytes.error());
  // The kernel looks for the next archive's magic on a 4-byte boundary.
  base_bytes->resize((base_bytes->size() + 3) & ~std::size_t{3}, '\0');
  NewcTree tree;
  for (const auto& file : files) {
    if (auto ok = tree.add(file.path, NewcNode{NewcNode::Kind::file, file.mode, file.contents, 0, 0}); !ok) return ok;
  }
  const fs::path temp = out.string() + temp_suffix();
  if (auto ok = write_file_durable(temp, *base_bytes); !ok) return ok;
  UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
  if (!fd) return fail_errno("open " + temp.string(), errno);
  if (auto ok = tree.write(fd.get(), false); !ok) {
    ::unlink(temp.c_str());
    return ok;
  }
  if (::fsync(fd.get()) != 0 || ::rename(temp.c_str(), out.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return fail_errno("write " + out.string(), err);
  }
  return {};
}

InitramfsSpec guest_initramfs_spec(const std::filesystem::path& guest_init, const KernelArtifact& kernel,
                                   std::vector<std::string> modules) {
  InitramfsSpec spec;
  spec.guest_init = guest_init;
  spec.modules_dir = kernel.modules_dir;
  spec.kernel_release = kernel.release;
  spec.modules = std::move(modules);
  spec.busybox = kHostBusyboxStatic;
  return spec;
}

}  // namespace microagent::image
