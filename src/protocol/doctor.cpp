#include "protocol/doctor.hpp"

#include <algorithm>
#include <filesystem>

#include "protocol/field_reader.hpp"

namespace microagent::protocol {

using nlohmann::json;

std::string_view to_string(CheckStatus status) {
  switch (status) {
    case CheckStatus::ok: return "ok";
    case CheckStatus::warn: return "warn";
    case CheckStatus::fail: return "fail";
  }
  return "fail";
}

std::optional<CheckStatus> check_status_from_string(std::string_view text) {
  if (text == "ok") return CheckStatus::ok;
  if (text == "warn") return CheckStatus::warn;
  if (text == "fail") return CheckStatus::fail;
  return std::nullopt;
}

bool no_check_failed(const std::vector<DoctorCheck>& checks) {
  return std::none_of(checks.begin(), checks.end(), [](const DoctorCheck& c) { return c.status == CheckStatus::fail; });
}

json to_json(const DoctorCheck& check) {
  return json{{"name", check.name}, {"status", to_string(check.status)}, {"detail", check.detail}, {"fix", check.fix}};
}

json to_json(const DoctorReport& report) {
  json checks = json::array();
  for (const auto& check : report.checks) checks.push_back(to_json(check));
  return json{{"backend", report.backend},
              {"accel", report.accel},
              {"verdict", report.can_run ? "ok" : "fail"},
              {"summary", report.summary},
              {"checks", std::move(checks)}};
}

Result<DoctorCheck> doctor_check_from_json(const json& j) {
  if (!j.is_object()) return fail(ErrorCode::invalid_request, "doctor check must be an object");
  FieldReader reader(j, "check");
  DoctorCheck check;
  std::string status;
  reader.read("name", check.name, true);
  reader.read("status", status, true);
  reader.read("detail", check.detail);
  reader.read("fix", check.fix);
  if (!reader.ok()) return std::unexpected(reader.first_error());
  auto parsed = check_status_from_string(status);
  if (!parsed) return fail(ErrorCode::invalid_request, "check.status must be ok, warn or fail, not '" + status + "'");
  check.status = *parsed;
  return check;
}

Result<DoctorReport> doctor_report_from_json(const json& j) {
  if (!j.is_object()) return fail(ErrorCode::invalid_request, "doctor report must be an object");
  FieldReader reader(j, "doctor");
  DoctorReport report;
  std::string verdict;
  reader.read("backend", report.backend, true);
  reader.read("accel", report.accel);
  reader.read("verdict", verdict, true);
  reader.read("summary", report.summary);
  const json* checks = reader.array("checks", true);
  if (!reader.ok()) return std::unexpected(reader.first_error());
  if (verdict != "ok" && verdict != "fail") {
    return fail(ErrorCode::invalid_request, "doctor.verdict must be ok or fail, not '" + verdict + "'");
  }
  report.can_run = verdict == "ok";
  for (const auto& c : *checks) {
    auto check = doctor_check_from_json(c);
    if (!check) return std::unexpected(check.error());
    report.checks.push_back(std::move(*check));
  }
  return report;
}

}  // namespace microagent::protocol
