#pragma once
// The backend-neutral answer to "will it run here, and if not, what do I
// fix?": a list of checks and a verdict, carried under "doctor" in the `host`
// response of every supervisor. JSON shape: docs/doctor.md.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "protocol/types.hpp"

namespace microagent::protocol {

enum class CheckStatus { ok, warn, fail };

std::string_view to_string(CheckStatus status);
std::optional<CheckStatus> check_status_from_string(std::string_view text);

struct DoctorCheck {
  std::string name;  // stable, dotted: "kvm.probe", "qemu.devices", "wsl.statedir"
  CheckStatus status = CheckStatus::ok;
  std::string detail;  // what was found
  std::string fix;     // what to do about it; empty when nothing needs doing
};

struct DoctorReport {
  std::string backend;  // "linux-kvm", "wsl2", ...
  std::string accel;    // what `run` will use: "kvm", "tcg", "" when it cannot run
  bool can_run = false;  // "verdict": "ok" | "fail"; false exactly when a check failed
  std::string summary;   // one line: backend, accel and why
  std::vector<DoctorCheck> checks;
};

// can_run is derived from the checks: no check may fail.
bool no_check_failed(const std::vector<DoctorCheck>& checks);

nlohmann::json to_json(const DoctorCheck& check);
nlohmann::json to_json(const DoctorReport& report);
Result<DoctorCheck> doctor_check_from_json(const nlohmann::json& json);
Result<DoctorReport> doctor_report_from_json(const nlohmann::json& json);

}  // namespace microagent::protocol
