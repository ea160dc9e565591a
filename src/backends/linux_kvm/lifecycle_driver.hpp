#pragma once
// What only linux-kvm knows of the shared lifecycle (supervisor/lifecycle.hpp):
// a started workspace's VM is owned by a runtime shim; commands reach it through
// intent.json, QMP, the guest's control port and signals (docs/lifecycle.md).
#include "supervisor/lifecycle.hpp"

namespace microagent::linux_kvm {

class LinuxLifecycleDriver : public supervisor::LifecycleDriver {
 public:
  std::string_view backend() const override;
  // workspace_start.cpp
  Result<void> check(const protocol::Request& request) override;
  Result<std::string> prepare(const supervisor::RuntimeStore& store, const protocol::Request& request) override;
  Result<protocol::Event> launch(const supervisor::RuntimeStore& store, const protocol::Request& request,
                                 bool first) override;
  // lifecycle_driver.cpp
  bool alive(const supervisor::RuntimeStore& store) override;
  std::optional<supervisor::Settlement> reconcile(const supervisor::RuntimeStore& store) override;
  Result<protocol::Event> end(const supervisor::RuntimeStore& store, const protocol::Request& request,
                              supervisor::VmEnding how) override;
  std::string capture(const supervisor::RuntimeStore& store, const protocol::Request& request) override;
  Result<protocol::Event> sever(const supervisor::RuntimeStore& store, const protocol::Request& request,
                                const std::string& evidence) override;
  Result<void> release(const supervisor::RuntimeStore& store) override;
  std::optional<std::string> console_unsupported() const override { return std::nullopt; }
  Result<void> console(const supervisor::RuntimeStore& store, const std::string& input) override;
  void describe(const supervisor::RuntimeStore& store, const protocol::Request& request,
                protocol::Event& event) override;
};

}  // namespace microagent::linux_kvm
