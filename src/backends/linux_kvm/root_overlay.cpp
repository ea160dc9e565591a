#include "backends/linux_kvm/root_overlay.hpp"

#include <nlohmann/json.hpp>

#include "common/atomic_file.hpp"
#include "common/process.hpp"
#include "common/sha256.hpp"

namespace microagent::linux_kvm {
namespace {

// An empty qcow2 over `base`, made once with qemu-img (the format's real
// interface); the backing format is given so QEMU never probes the base.
Result<std::filesystem::path> overlay_template(const std::filesystem::path& base, const std::filesystem::path& template_dir) {
  const auto path = template_dir / (sha256_hex(base.string()).substr(0, 32) + ".qcow2");
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) return path;
  if (auto ok = ensure_directory(template_dir, 0700); !ok) return std::unexpected(ok.error());
  const auto temp = path.string() + temp_suffix();
  auto created = run_command({"qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", base.string(), temp});
  if (!created) return fail(ErrorCode::host_unavailable, "qemu-img is not installed: apt-get install qemu-utils");
  if (!created->status.success()) {
    std::filesystem::remove(temp, ec);
    return fail(ErrorCode::internal, "qemu-img create over " + base.string() + ": " + created->err);
  }
  std::filesystem::rename(temp, path, ec);
  if (ec) return fail_errno("rename " + path.string(), ec.value());
  return path;
}

}  // namespace

std::filesystem::path overlay_template_dir(const std::filesystem::path& state_dir) {
  return state_dir / "cache" / "overlay-templates";
}

Result<std::filesystem::path> overlay_backing_file(const std::filesystem::path& overlay) {
  auto info = run_command({"qemu-img", "info", "--output=json", "-f", "qcow2", overlay.string()});
  if (!info) return fail(ErrorCode::host_unavailable, "qemu-img is not installed: apt-get install qemu-utils");
  if (!info->status.success()) return fail(ErrorCode::internal, "qemu-img info " + overlay.string() + ": " + info->err);
  auto doc = nlohmann::json::parse(info->out, nullptr, false);
  if (!doc.is_object()) return fail(ErrorCode::internal, "qemu-img info printed no JSON for " + overlay.string());
  return std::filesystem::path(doc.value("full-backing-filename", doc.value("backing-filename", "")));
}

Result<void> ensure_root_overlay(const std::filesystem::path& base, const std::filesystem::path& overlay,
                                 const std::filesystem::path& template_dir) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(base, ec)) {
    return fail(ErrorCode::not_found, "root disk " + base.string() + " does not exist (import the image again)");
  }
  const auto absolute_base = std::filesystem::absolute(base).lexically_normal();
  if (std::filesystem::exists(overlay, ec)) {
    auto backing = overlay_backing_file(overlay);
    if (!backing) return std::unexpected(backing.error());
    if (backing->lexically_normal() != absolute_base) {
      return fail(ErrorCode::conflict, "workspace root disk " + overlay.string() + " was made from " + backing->string() +
                                           ", not " + absolute_base.string() + ": delete the workspace to change its image");
    }
    return {};
  }
  auto templ = overlay_template(absolute_base, template_dir);
  if (!templ) return std::unexpected(templ.error());
  if (auto ok = ensure_directory(overlay.parent_path(), 0700); !ok) return ok;
  const auto temp = overlay.string() + temp_suffix();
  std::filesystem::copy_file(*templ, temp, std::filesystem::copy_options::overwrite_existing, ec);
  if (ec) return fail_errno("copy " + templ->string(), ec.value());
  std::filesystem::rename(temp, overlay, ec);
  if (ec) {
    std::filesystem::remove(temp, ec);
    return fail_errno("rename " + overlay.string(), ec.value());
  }
  return {};
}

}  // namespace microagent::linux_kvm
