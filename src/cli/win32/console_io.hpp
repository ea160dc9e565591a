#pragma once
// The local ends of a connect session in microagent.exe: the Windows console
// in raw mode (VT input and output, no line input, echo or processed input, so
// Ctrl-C reaches the guest as byte 0x03), console input with resize events,
// piped/file stdin, and stdout/stderr.
#include "backends/windows_hyperv/win32/windows_headers.hpp"

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>

#include "common/connect_session.hpp"

namespace microagent::cli::win32_cli {

using microagent::ConnectInput;
using microagent::ConnectInputSource;
using microagent::ConnectOutput;

// Is stdin a console (not a pipe or a file)?
bool stdin_is_console();

// The visible window of the console on stdout (falls back to 24x80).
connect_wire::WindowSize console_window_size();

// Raw mode for the session's lifetime; the saved modes and code pages come
// back in the destructor, so every way out of the scope restores the console.
class RawConsole {
 public:
  RawConsole();
  ~RawConsole();
  RawConsole(const RawConsole&) = delete;
  RawConsole& operator=(const RawConsole&) = delete;

 private:
  HANDLE in_, out_;
  DWORD in_mode_ = 0, out_mode_ = 0;
  UINT in_cp_ = 0, out_cp_ = 0;
  bool in_saved_ = false, out_saved_ = false;
};

// Key presses (UTF-8, VT sequences for special keys) and window-size changes.
class ConsoleInput : public ConnectInputSource {
 public:
  ConsoleInput();
  std::optional<ConnectInput> next(std::chrono::milliseconds wait) override;

 private:
  HANDLE in_;
  connect_wire::WindowSize size_;
  std::wstring pending_;  // a high surrogate waiting for its pair
  std::deque<ConnectInput> queued_;
};

// A pipe or file on stdin, read by a thread of its own (a blocking ReadFile
// cannot be given a timeout); at the end it reports Kind::end. The thread is
// detached: it may stay blocked on a pipe nobody closes until the process exits.
class StreamInput : public ConnectInputSource {
 public:
  StreamInput();
  std::optional<ConnectInput> next(std::chrono::milliseconds wait) override;

 private:
  struct Shared {
    std::mutex mutex;
    std::condition_variable ready;
    std::deque<ConnectInput> items;
  };
  std::shared_ptr<Shared> shared_;
};

class StdOutput : public ConnectOutput {
 public:
  void write_stdout(std::string_view bytes) override;
  void write_stderr(std::string_view bytes) override;
};

}  // namespace microagent::cli::win32_cli
