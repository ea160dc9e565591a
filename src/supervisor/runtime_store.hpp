#pragma once
// One runtime's files under <state-dir>/<runtimeID>/ (DESIGN.md section 3).
// Every write is crash-safe; a torn last line of events.json is skipped on read.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/file_lock.hpp"
#include "protocol/runtime_id.hpp"
#include "protocol/types.hpp"

namespace microagent::supervisor {

class RuntimeStore {
 public:
  // A RuntimeId is valid by construction: dir() is always one level under state_dir.
  RuntimeStore(std::filesystem::path state_dir, protocol::RuntimeId id);

  const std::filesystem::path& state_dir() const { return state_dir_; }
  const protocol::RuntimeId& id() const { return id_; }
  const std::string& runtime_id() const { return id_.str(); }
  std::filesystem::path dir() const { return state_dir_ / runtime_id(); }
  std::filesystem::path event_path() const { return dir() / "event.json"; }
  std::filesystem::path events_path() const { return dir() / "events.json"; }
  std::filesystem::path runtime_path() const { return dir() / "runtime.json"; }
  std::filesystem::path result_path() const { return dir() / "result.json"; }
  std::filesystem::path serial_log_path() const { return dir() / "serial.log"; }
  std::filesystem::path serial_in_path() const { return dir() / "serial.in"; }
  std::filesystem::path workspace_dir() const { return state_dir_ / "workspaces" / runtime_id(); }
  // Locks live outside the runtime dir so `delete` can remove the dir while holding one.
  std::filesystem::path lock_path() const { return state_dir_ / "locks" / (runtime_id() + ".lock"); }
  // Held only around one event write: the shim records while a command holds lock().
  std::filesystem::path record_lock_path() const { return state_dir_ / "locks" / (runtime_id() + ".record.lock"); }
  // What a lifecycle command asked of a running VM (halt, stop, kill, quarantine): the
  // shim reads it when the VM exits to record the right final state.
  std::filesystem::path intent_path() const { return dir() / "intent.json"; }
  std::filesystem::path readiness_path() const { return dir() / "readiness.json"; }
  std::filesystem::path config_path() const { return dir() / "config.json"; }

  // The marker create() writes: only a directory carrying it is a workspace, so
  // `delete` never removes a directory microagent did not make (issue 13).
  std::filesystem::path marker_path() const { return dir() / kMarkerName; }
  static constexpr const char* kMarkerName = ".microagent-workspace";

  // dir() is a real directory (not a symlink) holding this runtime's marker.
  bool exists() const;
  // Why dir() is not a workspace of this store (not_found, naming what is there instead).
  Result<void> check_workspace() const;
  // Makes dir() and its marker. Refuses a symlink, a non-directory, a directory
  // with content but no marker, and the state dir's own folders (images, locks...).
  Result<void> create();
  // Serialises commands on this runtime (one lock per runtime).
  Result<FileLock> lock() const;

  // Appends to events.json, then replaces event.json: history first, so the
  // latest event is always also in the history.
  Result<void> record(const protocol::Event& event) const;
  Result<std::optional<protocol::Event>> latest() const;
  Result<std::vector<protocol::Event>> history() const;

  Result<void> write_runtime(const nlohmann::json& runtime) const;
  Result<nlohmann::json> read_runtime() const;  // {} when absent
  Result<void> write_result(const nlohmann::json& result) const;
  // Small JSON documents of the runtime dir: {} / nullopt when absent.
  Result<void> write_document(const std::filesystem::path& path, const nlohmann::json& document) const;
  Result<std::optional<nlohmann::json>> read_document(const std::filesystem::path& path) const;
  Result<std::optional<nlohmann::json>> read_result() const;
  // config.json: the config a workspace was prepared or started with, typed;
  // nullopt when absent, internal when it no longer decodes.
  Result<void> write_config(const protocol::WorkspaceConfig& config) const;
  Result<std::optional<protocol::WorkspaceConfig>> read_config() const;

 private:
  std::filesystem::path state_dir_;
  protocol::RuntimeId id_;
};

}  // namespace microagent::supervisor
