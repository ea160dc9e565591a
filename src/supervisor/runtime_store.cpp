#include "supervisor/runtime_store.hpp"

#include <sstream>

#include "common/atomic_file.hpp"
#include "protocol/json_codec.hpp"

namespace microagent::supervisor {

using nlohmann::json;

RuntimeStore::RuntimeStore(std::filesystem::path state_dir, protocol::RuntimeId id)
    : state_dir_(std::move(state_dir)), id_(std::move(id)) {}

namespace {

// Names the state dir uses for itself (DESIGN.md section 3 and the caches):
// valid runtime IDs, never workspaces.
constexpr const char* kReservedNames[] = {"images", "locks", "workspaces", "cache", "tmp"};

json marker_for(const std::string& runtime_id) {
  return {{"kind", "microagent-workspace"}, {"runtimeID", runtime_id}};
}

}  // namespace

Result<void> RuntimeStore::check_workspace() const {
  std::error_code ec;
  const auto status = std::filesystem::symlink_status(dir(), ec);
  if (ec || !std::filesystem::exists(status)) {
    return fail(ErrorCode::not_found, "no workspace named '" + runtime_id() + "'");
  }
  if (std::filesystem::is_symlink(status)) {
    return fail(ErrorCode::not_found, "no workspace named '" + runtime_id() + "': " + dir().string() +
                                          " is a symlink, which microagent never creates; it is left alone");
  }
  const std::string foreign = "no workspace named '" + runtime_id() + "': " + dir().string() +
                              " was not created by microagent (no " + kMarkerName + " marker); it is left alone";
  if (!std::filesystem::is_directory(status)) return fail(ErrorCode::not_found, foreign);
  // The marker itself must be a plain file: a symlink could point anywhere.
  if (!std::filesystem::is_regular_file(std::filesystem::symlink_status(marker_path(), ec))) {
    return fail(ErrorCode::not_found, foreign);
  }
  auto text = read_file(marker_path());
  const json marker = text ? json::parse(*text, nullptr, false) : json();
  if (marker.is_discarded() || marker != marker_for(runtime_id())) return fail(ErrorCode::not_found, foreign);
  return {};
}

bool RuntimeStore::exists() const { return check_workspace().has_value(); }

Result<void> RuntimeStore::create() {
  for (const char* reserved : kReservedNames) {
    if (runtime_id() == reserved) {
      return fail(ErrorCode::invalid_request, "'" + runtime_id() + "' is reserved for the state dir's own use: pick another name");
    }
  }
  if (auto ok = ensure_directory(lock_path().parent_path(), 0700); !ok) return ok;
  if (exists()) return {};
  std::error_code ec;
  const auto status = std::filesystem::symlink_status(dir(), ec);
  if (std::filesystem::exists(status)) {
    // Adopt only an empty real directory; anything else is someone else's.
    const bool empty_dir = std::filesystem::is_directory(status) && std::filesystem::is_empty(dir(), ec) && !ec;
    if (!empty_dir) {
      return fail(ErrorCode::conflict, dir().string() + " exists but is not a microagent workspace" +
                                           (std::filesystem::is_symlink(status) ? " (a symlink)" : "") +
                                           ": move it away or pick another name");
    }
  } else {
    // Exactly one new directory: not create_directories, which would accept a
    // symlink raced into place.
    if (!std::filesystem::create_directory(dir(), ec) || ec) {
      return fail(ErrorCode::conflict, "cannot create " + dir().string() + ": " + (ec ? ec.message() : "it appeared meanwhile"));
    }
    std::filesystem::permissions(dir(), std::filesystem::perms::owner_all, ec);
  }
  return write_file_atomic(marker_path(), marker_for(runtime_id()).dump() + "\n", 0600);
}

Result<FileLock> RuntimeStore::lock() const {
  if (auto ok = ensure_directory(lock_path().parent_path(), 0700); !ok) return std::unexpected(ok.error());
  return FileLock::acquire(lock_path());
}

Result<void> RuntimeStore::record(const protocol::Event& event) const {
  auto guard = FileLock::acquire(record_lock_path());
  if (!guard) return std::unexpected(guard.error());
  const std::string line = protocol::to_json(event).dump();
  if (auto ok = append_line_durable(events_path(), line); !ok) return ok;
  return write_file_atomic(event_path(), line + "\n");
}

Result<std::optional<protocol::Event>> RuntimeStore::latest() const {
  std::error_code ec;
  if (!std::filesystem::exists(event_path(), ec)) return std::optional<protocol::Event>{};
  auto text = read_file(event_path());
  if (!text) return std::unexpected(text.error());
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded()) return fail(ErrorCode::internal, "event.json does not parse: " + event_path().string());
  auto event = protocol::event_from_json(j);
  if (!event) return std::unexpected(event.error());
  return std::optional<protocol::Event>(*event);
}

Result<std::vector<protocol::Event>> RuntimeStore::history() const {
  std::vector<protocol::Event> events;
  std::error_code ec;
  if (!std::filesystem::exists(events_path(), ec)) return events;
  auto text = read_file(events_path());
  if (!text) return std::unexpected(text.error());
  std::istringstream lines(*text);
  std::string line;
  while (std::getline(lines, line)) {
    // A line torn by power loss does not parse: skip it, never fail the read.
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded()) continue;
    if (auto event = protocol::event_from_json(j)) events.push_back(*event);
  }
  return events;
}

Result<void> RuntimeStore::write_runtime(const json& runtime) const {
  return write_file_atomic(runtime_path(), runtime.dump(2) + "\n");
}

Result<json> RuntimeStore::read_runtime() const {
  std::error_code ec;
  if (!std::filesystem::exists(runtime_path(), ec)) return json::object();
  auto text = read_file(runtime_path());
  if (!text) return std::unexpected(text.error());
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(ErrorCode::internal, "runtime.json does not parse");
  return j;
}

Result<void> RuntimeStore::write_result(const json& result) const { return write_document(result_path(), result); }

Result<std::optional<json>> RuntimeStore::read_result() const { return read_document(result_path()); }

Result<void> RuntimeStore::write_config(const protocol::WorkspaceConfig& config) const {
  return write_document(config_path(), protocol::to_json(config));
}

Result<std::optional<protocol::WorkspaceConfig>> RuntimeStore::read_config() const {
  auto document = read_document(config_path());
  if (!document) return std::unexpected(document.error());
  if (!*document) return std::optional<protocol::WorkspaceConfig>{};
  auto config = protocol::config_from_json(**document);
  if (!config) return fail(ErrorCode::internal, "config.json: " + config.error().message);
  return std::optional<protocol::WorkspaceConfig>(std::move(*config));
}

Result<void> RuntimeStore::write_document(const std::filesystem::path& path, const json& document) const {
  return write_file_atomic(path, document.dump(2) + "\n");
}

Result<std::optional<json>> RuntimeStore::read_document(const std::filesystem::path& path) const {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::optional<json>{};
  auto text = read_file(path);
  if (!text) return std::unexpected(text.error());
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded()) return fail(ErrorCode::internal, path.filename().string() + " does not parse");
  return std::optional<json>(j);
}

}  // namespace microagent::supervisor
