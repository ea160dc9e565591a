#pragma once
// The wsl2 Backend: linux-kvm inside a WSL2 distro, gated on nested KVM.
// Outside WSL2 every command fails closed with host_unavailable; inside WSL2
// without a usable /dev/kvm every lifecycle command does (with the fixes),
// while `host` still answers with a doctor report that lists them.
#include <string>

#include "backends/linux_kvm/doctor_checks.hpp"
#include "backends/linux_kvm/linux_kvm_backend.hpp"
#include "backends/wsl2/wsl_detect.hpp"
#include "supervisor/backend.hpp"

namespace microagent::wsl2 {

inline constexpr std::string_view kBackendName = "wsl2";

class Wsl2Backend : public supervisor::Backend {
 public:
  // `context` reads the host (root "/" in production); `distro_env` is WSL_DISTRO_NAME.
  Wsl2Backend(linux_kvm::DoctorContext context, std::string distro_env);
  // The real host: host_doctor_context(default_state_dir()) and $WSL_DISTRO_NAME.
  static Wsl2Backend for_this_host();

  std::string_view name() const override { return kBackendName; }
  Result<nlohmann::json> host_facts() override;
  Result<nlohmann::json> host_facts(const protocol::Request& request) override;
  Result<protocol::Event> handle(const protocol::Request& request) override;

 private:
  linux_kvm::DoctorContext context_;
  std::string distro_env_;
  linux_kvm::LinuxKvmBackend linux_;
};

}  // namespace microagent::wsl2
