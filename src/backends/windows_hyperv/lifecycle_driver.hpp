#pragma once
// What only windows-hyperv knows of the shared lifecycle (supervisor/lifecycle.hpp):
// prepare makes VHDs and no compute system; start makes one that outlives the
// supervisor (its HCS identity in runtime.json); every path that ends a VM goes
// through end_vm; console fails closed (use connect).
#include "backends/windows_hyperv/windows_host.hpp"
#include "supervisor/lifecycle.hpp"

namespace microagent::windows_hyperv {

class HypervLifecycleDriver : public supervisor::LifecycleDriver {
 public:
  explicit HypervLifecycleDriver(WindowsHost& host) : host_(host) {}

  std::string_view backend() const override;
  Result<void> check(const protocol::Request& request) override;
  Result<std::string> prepare(const supervisor::RuntimeStore& store, const protocol::Request& request) override;
  Result<protocol::Event> launch(const supervisor::RuntimeStore& store, const protocol::Request& request,
                                 bool first) override;
  bool alive(const supervisor::RuntimeStore& store) override;
  std::optional<supervisor::Settlement> reconcile(const supervisor::RuntimeStore& store) override;
  Result<protocol::Event> end(const supervisor::RuntimeStore& store, const protocol::Request& request,
                              supervisor::VmEnding how) override;
  std::string capture(const supervisor::RuntimeStore& store, const protocol::Request& request) override;
  Result<protocol::Event> sever(const supervisor::RuntimeStore& store, const protocol::Request& request,
                                const std::string& evidence) override;
  Result<void> release(const supervisor::RuntimeStore& store) override;
  std::optional<std::string> console_unsupported() const override;
  Result<void> console(const supervisor::RuntimeStore& store, const std::string& input) override;
  void describe(const supervisor::RuntimeStore& store, const protocol::Request& request,
                protocol::Event& event) override;

 private:
  WindowsHost& host_;
};

}  // namespace microagent::windows_hyperv
