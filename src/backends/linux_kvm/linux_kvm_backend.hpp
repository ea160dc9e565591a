#pragma once
// The linux-kvm Backend: lifecycle commands for QEMU microvm guests.
#include "supervisor/backend.hpp"
#include "supervisor/runtime_store.hpp"

namespace microagent::linux_kvm {

inline constexpr std::string_view kBackendName = "linux-kvm";

// An event of this backend about the request's workspace, stamped now.
protocol::Event make_event(const protocol::Request& request, protocol::State state, std::string detail);

class LinuxKvmBackend : public supervisor::Backend {
 public:
  std::string_view name() const override { return kBackendName; }
  Result<nlohmann::json> host_facts() override;
  Result<nlohmann::json> host_facts(const protocol::Request& request) override;  // doctor reads "stateDir"
  Result<protocol::Event> handle(const protocol::Request& request) override;

 private:
  Result<protocol::Event> check(const protocol::Request& request);
};

}  // namespace microagent::linux_kvm
