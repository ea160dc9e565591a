#pragma once
// The workspace lifecycle of docs/lifecycle.md, decided once for every backend:
// which state allows which command, reconcile after a crash, what is recorded,
// and the words and error codes of every refusal. A backend supplies a
// LifecycleDriver: only the things it alone knows how to do to its VM.
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "protocol/types.hpp"
#include "supervisor/runtime_store.hpp"

namespace microagent::supervisor {

enum class VmEnding { halt, stop, kill };

// What reconcile found an active workspace's VM to have become.
struct Settlement {
  protocol::State state = protocol::State::failed;
  std::string detail;
};

class LifecycleDriver {
 public:
  virtual ~LifecycleDriver() = default;
  virtual std::string_view backend() const = 0;

  // prepare and start, before the lock: a request the host refuses leaves no trace.
  virtual Result<void> check(const protocol::Request& request) = 0;
  // Makes the disks and stores the config; returns the `prepared` event's detail.
  virtual Result<std::string> prepare(const RuntimeStore& store, const protocol::Request& request) = 0;
  // Boots the VM of a workspace allowed to start. Records `starting` and
  // `running` (or `failed`) and returns the last; `first` when nothing was recorded yet.
  virtual Result<protocol::Event> launch(const RuntimeStore& store, const protocol::Request& request, bool first) = 0;

  // The workspace's VM (or the process that owns it) is there.
  virtual bool alive(const RuntimeStore& store) = 0;
  // An active workspace whose VM or owner is gone: reaps what it held and says
  // what to record. nullopt leaves it as it is (alive, or the host cannot tell).
  virtual std::optional<Settlement> reconcile(const RuntimeStore& store) = 0;

  // Ends a live VM as asked and returns the final event, recorded.
  virtual Result<protocol::Event> end(const RuntimeStore& store, const protocol::Request& request, VmEnding how) = 0;
  // Quarantine of a live VM: evidence first (the detail says what was kept), then
  // sever (every host endpoint gone before the VM is), returning the final event.
  virtual std::string capture(const RuntimeStore& store, const protocol::Request& request) = 0;
  virtual Result<protocol::Event> sever(const RuntimeStore& store, const protocol::Request& request,
                                        const std::string& evidence) = 0;
  // What a VM that is gone left on the host (network, sockets, endpoints), released. Idempotent.
  virtual Result<void> release(const RuntimeStore& store) = 0;
  // Why the backend has no serial console to write to (nullopt: it has one).
  virtual std::optional<std::string> console_unsupported() const = 0;
  // Writes to a running VM's serial console.
  virtual Result<void> console(const RuntimeStore& store, const std::string& input) = 0;
  // inspect: the readiness (and anything else the backend knows) of the latest event.
  virtual void describe(const RuntimeStore& store, const protocol::Request& request, protocol::Event& event) = 0;
};

// What a command does to a workspace in `state` (nullopt: nothing recorded) whose VM is (not) `alive`.
struct Decision {
  enum class Kind {
    act,     // the driver does the work (launch, end, sever, ...)
    settle,  // nothing to end: record `to` with `detail`
    keep,    // nothing to do: the latest event is the answer
    refuse,  // `code` with `detail` as the message
  };
  Kind kind = Kind::refuse;
  protocol::State to = protocol::State::unknown;
  ErrorCode code = ErrorCode::conflict;
  std::string detail;
};

// The table of docs/lifecycle.md ("Allowed transitions"). `name` is only for messages.
Decision decide(protocol::Command command, std::optional<protocol::State> state, bool alive, std::string_view name);

// Serves prepare, start, inspect, halt, stop, kill, quarantine, remove and console.
Result<protocol::Event> serve_lifecycle(LifecycleDriver& driver, const protocol::Request& request);

}  // namespace microagent::supervisor
