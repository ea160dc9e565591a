#pragma once
// The windows-hyperv Backend: Linux guests on the Host Compute Service.
// Every Windows call goes through the WindowsHost it is given (the real
// driver in win32/, a fake in tests). Lifecycle commands: supervisor/lifecycle.hpp
// over lifecycle_driver.hpp.
#include <filesystem>

#include "backends/windows_hyperv/doctor_checks.hpp"
#include "backends/windows_hyperv/hv_constants.hpp"
#include "backends/windows_hyperv/windows_host.hpp"
#include "supervisor/backend.hpp"

namespace microagent::windows_hyperv {

struct BackendPaths {
  std::filesystem::path kernel_dir;      // for doctor's kernel.artifact
  std::filesystem::path guestinit_path;  // for doctor's guestinit.binary
};

class WindowsHypervBackend : public supervisor::Backend {
 public:
  WindowsHypervBackend(WindowsHost& host, BackendPaths paths) : host_(host), paths_(std::move(paths)) {}

  std::string_view name() const override { return kBackendName; }
  Result<nlohmann::json> host_facts() override;
  Result<protocol::Event> handle(const protocol::Request& request) override;

 private:
  Result<protocol::Event> check(const protocol::Request& request);
  WindowsHost& host_;
  BackendPaths paths_;
};

}  // namespace microagent::windows_hyperv
