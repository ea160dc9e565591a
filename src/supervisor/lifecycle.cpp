#include "supervisor/lifecycle.hpp"

#include <fmt/core.h>

#include "protocol/json_codec.hpp"
#include "supervisor/event_factory.hpp"
#include "supervisor/workspace_records.hpp"

namespace microagent::supervisor {
namespace {

using protocol::Command;
using protocol::Event;
using protocol::Request;
using protocol::State;
using Kind = Decision::Kind;

Decision act() { return {Kind::act, State::unknown, ErrorCode::conflict, {}}; }
Decision keep() { return {Kind::keep, State::unknown, ErrorCode::conflict, {}}; }
Decision settle(State to, std::string detail) { return {Kind::settle, to, ErrorCode::conflict, std::move(detail)}; }
Decision refuse(std::string message, ErrorCode code = ErrorCode::conflict) {
  return {Kind::refuse, State::unknown, code, std::move(message)};
}

std::string named(std::string_view name) { return fmt::format("workspace '{}'", name); }
std::string state_name(State state) { return std::string(protocol::to_string(state)); }

Decision decide_prepare_or_start(Command command, std::optional<State> state, std::string_view name) {
  const char* verb = command == Command::prepare ? "preparing" : "starting";
  if (state == State::running && command == Command::start) return refuse(named(name) + " is already running");
  if (is_active(state)) {
    return refuse(fmt::format("{} is {}: stop or kill it before {} it again", named(name), state_name(*state), verb));
  }
  if (state == State::quarantined) {
    return refuse(fmt::format("{} is quarantined: halt, stop or kill it before {} it again", named(name), verb));
  }
  return act();
}

Decision decide_end(Command command, std::optional<State> state, bool alive, std::string_view name) {
  if (alive) return act();
  if (command == Command::halt) {
    if (state == State::halted) return keep();
    if (state == State::quarantined || state == State::stopped || state == State::failed) {
      return settle(State::halted, "halted (no VM was running); workspace kept for the next start");
    }
    if (is_active(state)) {
      return refuse(fmt::format("{} is {} without a VM yet: try again once it runs", named(name), state_name(*state)));
    }
    return refuse(named(name) + " was never started: nothing to halt");
  }
  if (state == State::quarantined) {
    return settle(State::stopped, command == Command::kill ? "killed (was quarantined)" : "stopped (was quarantined)");
  }
  if (!state) return refuse(named(name) + " has no events", ErrorCode::not_found);
  return keep();
}

// The event the request's workspace has now; not_found when it has none.
Result<Event> latest_of(const RuntimeStore& store) {
  auto latest = store.latest();
  if (!latest) return std::unexpected(latest.error());
  if (!*latest) return fail(ErrorCode::not_found, named(store.runtime_id()) + " has no events");
  return **latest;
}

class Lifecycle {
 public:
  Lifecycle(LifecycleDriver& driver, const Request& request, RuntimeStore store)
      : driver_(driver), request_(request), store_(std::move(store)) {}

  Result<Event> serve() {
    switch (request_.command) {
      case Command::prepare:
      case Command::start: return prepare_or_start();
      case Command::inspect: return inspect();
      case Command::console: return console();
      default: return change();
    }
  }

 private:
  Event event(State state, std::string detail) const {
    return event_for(request_, driver_.backend(), state, std::move(detail));
  }

  // An active workspace whose VM or owner died is settled before anything is decided.
  void reconcile() {
    if (!store_.exists() || !is_active(latest_state(store_))) return;
    if (auto settled = driver_.reconcile(store_)) store_.record(event(settled->state, settled->detail));
  }

  Decision decision() {
    return decide(request_.command, latest_state(store_), driver_.alive(store_), store_.runtime_id());
  }

  Result<Event> prepare_or_start() {
    if (auto ok = driver_.check(request_); !ok) return std::unexpected(ok.error());
    auto lock = store_.lock();
    if (!lock) return std::unexpected(lock.error());
    reconcile();
    const Decision decided = decision();
    if (decided.kind == Kind::refuse) return fail(decided.code, decided.detail);
    const bool first = !latest_state(store_);
    if (auto ok = store_.create(); !ok) return std::unexpected(ok.error());
    if (request_.command == Command::start) return driver_.launch(store_, request_, first);
    auto detail = driver_.prepare(store_, request_);
    if (!detail) return std::unexpected(detail.error());
    return record(store_, event(State::prepared, *detail));
  }

  // halt, stop, kill, quarantine and delete: one command at a time on an existing workspace.
  Result<Event> change() {
    if (auto ok = store_.check_workspace(); !ok) return std::unexpected(ok.error());
    auto lock = store_.lock();
    if (!lock) return std::unexpected(lock.error());
    reconcile();
    const Decision decided = decision();
    switch (decided.kind) {
      case Kind::refuse: return fail(decided.code, decided.detail);
      case Kind::keep: return latest_of(store_);
      case Kind::settle:
        if (auto ok = driver_.release(store_); !ok) {
          return record(store_, event(decided.to, decided.detail + " (release: " + ok.error().message + ")"));
        }
        return record(store_, event(decided.to, decided.detail));
      case Kind::act: break;
    }
    switch (request_.command) {
      case Command::halt: return driver_.end(store_, request_, VmEnding::halt);
      case Command::stop: return driver_.end(store_, request_, VmEnding::stop);
      case Command::kill: return driver_.end(store_, request_, VmEnding::kill);
      case Command::quarantine: {
        const std::string evidence = request_.options.no_capture ? "evidence capture skipped (--no-capture)"
                                                                 : driver_.capture(store_, request_);
        return driver_.sever(store_, request_, evidence);
      }
      case Command::remove: return remove();
      default: return fail(ErrorCode::unsupported, "not a lifecycle command");
    }
  }

  Result<Event> remove() {
    if (auto ok = driver_.release(store_); !ok) return std::unexpected(ok.error());
    std::error_code ec;
    std::filesystem::remove_all(store_.dir(), ec);
    if (ec) return fail_errno("remove " + store_.dir().string(), ec.value());
    std::filesystem::remove_all(store_.workspace_dir(), ec);
    if (ec) return fail_errno("remove " + store_.workspace_dir().string(), ec.value());
    std::filesystem::remove(store_.lock_path(), ec);
    std::filesystem::remove(store_.record_lock_path(), ec);
    return event(State::unknown, "deleted");
  }

  // Read-only: a command holding the lock owns the state and records its own outcome,
  // so reconcile runs only when no command is under way.
  Result<Event> inspect() {
    if (auto ok = store_.check_workspace(); !ok) return std::unexpected(ok.error());
    if (auto lock = FileLock::acquire(store_.lock_path(), std::chrono::milliseconds(0))) reconcile();
    auto latest = latest_of(store_);
    if (!latest) return latest;
    driver_.describe(store_, request_, *latest);
    return latest;
  }

  Result<Event> console() {
    if (auto why = driver_.console_unsupported()) return fail(ErrorCode::unsupported, *why);
    if (auto ok = store_.check_workspace(); !ok) return std::unexpected(ok.error());
    if (auto lock = FileLock::acquire(store_.lock_path(), std::chrono::milliseconds(0))) reconcile();
    const Decision decided = decision();
    if (decided.kind == Kind::refuse) return fail(decided.code, decided.detail);
    const auto& input = request_.options.console_input;
    if (!input) {
      return fail(ErrorCode::invalid_request, "console needs \"input\": the text to send to the guest's serial console");
    }
    if (auto ok = driver_.console(store_, *input); !ok) return std::unexpected(ok.error());
    auto latest = latest_of(store_);
    Event sent = latest ? *latest : event(State::running, "");
    sent.detail = fmt::format("sent {} bytes to the serial console", input->size());
    return sent;
  }

  LifecycleDriver& driver_;
  const Request& request_;
  RuntimeStore store_;
};

}  // namespace

Decision decide(Command command, std::optional<State> state, bool alive, std::string_view name) {
  switch (command) {
    case Command::prepare:
    case Command::start: return decide_prepare_or_start(command, state, name);
    case Command::halt:
    case Command::stop:
    case Command::kill: return decide_end(command, state, alive, name);
    case Command::quarantine:
      if (alive) return act();
      if (state == State::quarantined) return keep();
      return settle(State::quarantined, "quarantined while not running; start is refused");
    case Command::remove:
      if (alive) return refuse(named(name) + " is running: stop or kill it first");
      return act();
    case Command::console:
      if (alive && state == State::running) return act();
      return refuse(named(name) + " is not running: no console to write to");
    default:
      return refuse(fmt::format("'{}' is not a lifecycle command", protocol::to_string(command)),
                    ErrorCode::unsupported);
  }
}

Result<Event> serve_lifecycle(LifecycleDriver& driver, const Request& request) {
  auto store = store_for(request);
  if (!store) return std::unexpected(store.error());
  return Lifecycle(driver, request, std::move(*store)).serve();
}

}  // namespace microagent::supervisor
