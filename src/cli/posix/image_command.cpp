// `microagent image import|ls|inspect|rm`: the image store (docs/images.md).
#include <unistd.h>

#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/posix/workspace_disks.hpp"
#include "image/store/image_import.hpp"
#include "image/store/image_store.hpp"

namespace microagent::cli {
namespace {

std::string human_bytes(std::uint64_t bytes) {
  if (bytes >= (1ull << 30)) return fmt::format("{:.1f} GiB", static_cast<double>(bytes) / (1ull << 30));
  if (bytes >= (1ull << 20)) return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1ull << 20));
  return fmt::format("{:.1f} KiB", static_cast<double>(bytes) / 1024);
}

std::string short_digest(const std::string& digest) { return digest.size() > 7 ? digest.substr(7, 12) : digest; }

// On a terminal: one line per layer, rewritten in place. With --json: one
// event per line (bytes at most every MiB), then the final record.
std::function<void(const image::ImportProgress&)> progress_printer(const GlobalOptions& global) {
  if (global.json) {
    auto last = std::make_shared<std::uint64_t>(0);
    return [last](const image::ImportProgress& p) {
      if (p.phase == "layer" && !p.done && p.bytes != 0 && p.bytes - *last < (1u << 20)) return;
      *last = p.done ? 0 : p.bytes;
      nlohmann::json event = {{"phase", p.phase}, {"done", p.done}};
      if (p.phase == "layer") {
        event.update({{"layer", p.layer}, {"layers", p.layers}, {"diffID", p.digest}, {"bytes", p.bytes}});
      }
      std::cout << nlohmann::json{{"progress", event}}.dump() << std::endl;
    };
  }
  if (!::isatty(STDERR_FILENO)) return {};
  auto last = std::make_shared<std::uint64_t>(0);
  return [last](const image::ImportProgress& p) {
    if (p.phase != "layer") return;
    if (!p.done && p.bytes != 0 && p.bytes - *last < (1u << 20)) return;
    *last = p.done ? 0 : p.bytes;
    std::cerr << fmt::format("\r\033[Klayer {}/{} {} {}{}", p.layer, p.layers, short_digest(p.digest),
                             human_bytes(p.bytes), p.done ? " done\n" : "")
              << std::flush;
  };
}

int run_import(const GlobalOptions& global, const std::string& source, const std::string& name) {
  auto store = image::ImageStore::open(global.state_dir);
  if (!store) return report(global, store.error());
  image::ImportOptions options;
  options.source = source;
  if (!name.empty()) options.name = name;
  options.on_progress = progress_printer(global);
  auto outcome = image::import_image(*store, options);
  if (!outcome) return report(global, outcome.error());
  if (global.json) {
    std::cout << nlohmann::json{{"ok", true}, {"alreadyPresent", outcome->already_present},
                                {"image", image::to_json(outcome->record)}}.dump() << std::endl;
    return 0;
  }
  const auto& r = outcome->record;
  std::string names;
  for (const auto& n : r.names) names += (names.empty() ? "" : ", ") + n;
  std::cout << fmt::format("{} {}{}\n", outcome->already_present ? "already present" : "imported", r.digest,
                           names.empty() ? "" : " (" + names + ")");
  return 0;
}

int run_ls(const GlobalOptions& global) {
  auto store = image::ImageStore::open(global.state_dir);
  if (!store) return report(global, store.error());
  auto images = store->list();
  if (!images) return report(global, images.error());
  if (global.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& r : *images) list.push_back(image::to_json(r));
    std::cout << nlohmann::json{{"ok", true}, {"images", list}}.dump() << std::endl;
    return 0;
  }
  std::cout << fmt::format("{:<14} {:<40} {:>10}  {}\n", "DIGEST", "NAMES", "SIZE", "IMPORTED");
  for (const auto& r : *images) {
    std::string names;
    for (const auto& n : r.names) names += (names.empty() ? "" : ",") + n;
    std::cout << fmt::format("{:<14} {:<40} {:>10}  {}\n", short_digest(r.digest), names.empty() ? "<none>" : names,
                             human_bytes(r.rootfs_bytes), r.imported_at);
  }
  return 0;
}

int run_inspect(const GlobalOptions& global, const std::string& ref) {
  auto store = image::ImageStore::open(global.state_dir);
  if (!store) return report(global, store.error());
  auto record = store->resolve(ref);
  if (!record) return report(global, record.error());
  std::cout << nlohmann::json{{"ok", true}, {"image", image::to_json(*record)}}.dump(global.json ? -1 : 2) << std::endl;
  return 0;
}

int run_rm(const GlobalOptions& global, const std::string& ref, bool force) {
  auto store = image::ImageStore::open(global.state_dir);
  if (!store) return report(global, store.error());
  auto record = store->resolve(ref);
  if (!record) return report(global, record.error());
  const auto users = workspaces_using_image(std::filesystem::absolute(global.state_dir), record->digest);
  if (!users.empty() && !force) {
    std::string names;
    for (const auto& user : users) names += (names.empty() ? "" : ", ") + user;
    return report(global, Error{ErrorCode::conflict, "image " + ref + " is the root disk of workspace(s) " + names +
                                                         ": delete them first (or --force, which breaks them)"});
  }
  auto removed = store->remove(record->digest);
  if (!removed) return report(global, removed.error());
  if (global.json) {
    std::cout << nlohmann::json{{"ok", true}, {"removed", {{"digest", removed->digest}, {"names", removed->names}}}}.dump()
              << std::endl;
  } else {
    std::cout << "removed " << removed->digest << std::endl;
  }
  return 0;
}

}  // namespace

void add_image_command(CLI::App& app, GlobalOptions& global) {
  auto* image = app.add_subcommand("image", "Import and manage images (OCI layout/archive, docker-archive, rootfs)");
  image->require_subcommand(1);

  auto* import = image->add_subcommand("import", "Import an image into the store under <state-dir>/images");
  auto source = std::make_shared<std::string>();
  auto name = std::make_shared<std::string>();
  import->add_option("SOURCE", *source,
                     "OCI layout dir, oci-archive tar, docker-archive tar, rootfs directory or rootfs tarball")
      ->required();
  import->add_option("--name", *name, "Reference to record (and to pick the image in a multi-image source)");
  import->callback([&global, source, name] { global.exit_code = run_import(global, *source, *name); });

  auto* ls = image->add_subcommand("ls", "List imported images");
  ls->callback([&global] { global.exit_code = run_ls(global); });

  auto* inspect = image->add_subcommand("inspect", "Show an image record as JSON");
  auto inspect_ref = std::make_shared<std::string>();
  inspect->add_option("REF", *inspect_ref, "Reference, digest or digest prefix")->required();
  inspect->callback([&global, inspect_ref] { global.exit_code = run_inspect(global, *inspect_ref); });

  auto* rm = image->add_subcommand("rm", "Remove an image: its references, rootfs and cached disks");
  auto rm_ref = std::make_shared<std::string>();
  rm->add_option("REF", *rm_ref, "Reference, digest or digest prefix")->required();
  auto rm_force = std::make_shared<bool>(false);
  rm->add_flag("--force,-f", *rm_force, "Remove it even while workspaces boot from it");
  rm->callback([&global, rm_ref, rm_force] { global.exit_code = run_rm(global, *rm_ref, *rm_force); });
}

}  // namespace microagent::cli
