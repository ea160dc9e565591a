#include "cli/win32/console_io.hpp"

#include <thread>

namespace microagent::cli::win32_cli {

namespace {

void write_all(HANDLE handle, std::string_view bytes) {
  while (!bytes.empty()) {
    DWORD written = 0;
    if (!WriteFile(handle, bytes.data(), static_cast<DWORD>(bytes.size()), &written, nullptr) || written == 0) return;
    bytes.remove_prefix(written);
  }
}

std::string utf8_of(std::wstring_view wide) {
  if (wide.empty()) return {};
  const int n = WideCharToMultiByte(CP_UTF8, 0, wide.data(), static_cast<int>(wide.size()), nullptr, 0, nullptr, nullptr);
  std::string out(static_cast<std::size_t>(n), '\0');
  WideCharToMultiByte(CP_UTF8, 0, wide.data(), static_cast<int>(wide.size()), out.data(), n, nullptr, nullptr);
  return out;
}

// Ctrl-Break and closing the window still end the process without unwinding
// (processed input is off, so Ctrl-C is only a byte): the handler restores
// the console first. One raw console per process, so one saved state.
struct SavedConsole {
  HANDLE in = nullptr, out = nullptr;
  DWORD in_mode = 0, out_mode = 0;
  bool in_saved = false, out_saved = false;
};
SavedConsole g_saved;

void restore_console() {
  if (g_saved.in_saved) SetConsoleMode(g_saved.in, g_saved.in_mode);
  if (g_saved.out_saved) SetConsoleMode(g_saved.out, g_saved.out_mode);
}

BOOL WINAPI restore_on_exit(DWORD) {
  restore_console();
  return FALSE;  // the default handler still ends the process
}

}  // namespace

bool stdin_is_console() {
  DWORD mode = 0;
  return GetConsoleMode(GetStdHandle(STD_INPUT_HANDLE), &mode) != 0;
}

connect_wire::WindowSize console_window_size() {
  CONSOLE_SCREEN_BUFFER_INFO info{};
  if (!GetConsoleScreenBufferInfo(GetStdHandle(STD_OUTPUT_HANDLE), &info)) return {};
  const int rows = info.srWindow.Bottom - info.srWindow.Top + 1;
  const int cols = info.srWindow.Right - info.srWindow.Left + 1;
  if (rows <= 0 || cols <= 0) return {};
  return {static_cast<std::uint16_t>(rows), static_cast<std::uint16_t>(cols)};
}

RawConsole::RawConsole() : in_(GetStdHandle(STD_INPUT_HANDLE)), out_(GetStdHandle(STD_OUTPUT_HANDLE)) {
  in_cp_ = GetConsoleCP();
  out_cp_ = GetConsoleOutputCP();
  if (GetConsoleMode(in_, &in_mode_)) {
    in_saved_ = true;
    DWORD raw = in_mode_;
    raw &= ~static_cast<DWORD>(ENABLE_LINE_INPUT | ENABLE_ECHO_INPUT | ENABLE_PROCESSED_INPUT);
    raw |= ENABLE_VIRTUAL_TERMINAL_INPUT | ENABLE_WINDOW_INPUT;
    SetConsoleMode(in_, raw);
  }
  if (GetConsoleMode(out_, &out_mode_)) {
    out_saved_ = true;
    SetConsoleMode(out_, out_mode_ | ENABLE_PROCESSED_OUTPUT | ENABLE_VIRTUAL_TERMINAL_PROCESSING |
                             DISABLE_NEWLINE_AUTO_RETURN);
  }
  // The guest speaks UTF-8 both ways.
  SetConsoleCP(CP_UTF8);
  SetConsoleOutputCP(CP_UTF8);
  g_saved = {in_, out_, in_mode_, out_mode_, in_saved_, out_saved_};
  SetConsoleCtrlHandler(restore_on_exit, TRUE);
}

RawConsole::~RawConsole() {
  SetConsoleCtrlHandler(restore_on_exit, FALSE);
  restore_console();
  g_saved = {};
  if (in_cp_) SetConsoleCP(in_cp_);
  if (out_cp_) SetConsoleOutputCP(out_cp_);
}

ConsoleInput::ConsoleInput() : in_(GetStdHandle(STD_INPUT_HANDLE)), size_(console_window_size()) {}

std::optional<ConnectInput> ConsoleInput::next(std::chrono::milliseconds wait) {
  if (!queued_.empty()) {
    auto item = std::move(queued_.front());
    queued_.pop_front();
    return item;
  }
  if (WaitForSingleObject(in_, static_cast<DWORD>(wait.count())) != WAIT_OBJECT_0) return std::nullopt;
  INPUT_RECORD records[64];
  DWORD count = 0;
  if (!ReadConsoleInputW(in_, records, 64, &count)) return ConnectInput{ConnectInput::Kind::end, {}, {}};
  std::wstring typed = std::move(pending_);
  pending_.clear();
  bool resized = false;
  for (DWORD i = 0; i < count; ++i) {
    const auto& record = records[i];
    if (record.EventType == KEY_EVENT && record.Event.KeyEvent.bKeyDown && record.Event.KeyEvent.uChar.UnicodeChar) {
      typed.append(std::max<WORD>(record.Event.KeyEvent.wRepeatCount, 1), record.Event.KeyEvent.uChar.UnicodeChar);
    } else if (record.EventType == WINDOW_BUFFER_SIZE_EVENT) {
      resized = true;
    }
  }
  // A surrogate pair may be split across two reads.
  if (!typed.empty() && typed.back() >= 0xD800 && typed.back() <= 0xDBFF) {
    pending_ = typed.back();
    typed.pop_back();
  }
  if (!typed.empty()) queued_.push_back({ConnectInput::Kind::bytes, utf8_of(typed), {}});
  if (resized) {
    // The buffer-size event carries the buffer, not the window: ask again.
    const auto size = console_window_size();
    if (!(size == size_)) {
      size_ = size;
      queued_.push_back({ConnectInput::Kind::resize, {}, size});
    }
  }
  if (queued_.empty()) return std::nullopt;
  auto item = std::move(queued_.front());
  queued_.pop_front();
  return item;
}

StreamInput::StreamInput() : shared_(std::make_shared<Shared>()) {
  std::thread([shared = shared_] {
    HANDLE in = GetStdHandle(STD_INPUT_HANDLE);
    char buffer[65536];
    for (;;) {
      DWORD got = 0;
      const bool ok = in && in != INVALID_HANDLE_VALUE && ReadFile(in, buffer, sizeof buffer, &got, nullptr);
      std::lock_guard lock(shared->mutex);
      if (!ok || got == 0) {
        shared->items.push_back({ConnectInput::Kind::end, {}, {}});
        shared->ready.notify_one();
        return;
      }
      shared->items.push_back({ConnectInput::Kind::bytes, std::string(buffer, got), {}});
      shared->ready.notify_one();
    }
  }).detach();
}

std::optional<ConnectInput> StreamInput::next(std::chrono::milliseconds wait) {
  std::unique_lock lock(shared_->mutex);
  if (!shared_->ready.wait_for(lock, wait, [&] { return !shared_->items.empty(); })) return std::nullopt;
  auto item = std::move(shared_->items.front());
  shared_->items.pop_front();
  return item;
}

void StdOutput::write_stdout(std::string_view bytes) { write_all(GetStdHandle(STD_OUTPUT_HANDLE), bytes); }
void StdOutput::write_stderr(std::string_view bytes) { write_all(GetStdHandle(STD_ERROR_HANDLE), bytes); }

}  // namespace microagent::cli::win32_cli
