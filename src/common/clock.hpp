#pragma once
#include <chrono>
#include <string>

namespace microagent {

// RFC3339 UTC with milliseconds: "2026-11-23T13:21:37.123Z".
std::string rfc3339(std::chrono::system_clock::time_point when);
std::string rfc3339_now();

}  // namespace microagent
