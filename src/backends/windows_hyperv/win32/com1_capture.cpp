// COM1 of an HCS VM is a named pipe the VM's worker process serves; we are
// the client. The pipe appears when the VM starts, so the capture thread
// retries opening it until it exists or the capture is finished.
#include "backends/windows_hyperv/win32/windows_headers.hpp"

#include <atomic>
#include <fstream>
#include <thread>

#include "backends/windows_hyperv/win32/win32_channels.hpp"
#include "backends/windows_hyperv/win32/win32_error.hpp"

namespace microagent::windows_hyperv::win32 {

namespace {

class Com1Capture : public SerialCapture {
 public:
  Com1Capture(std::wstring pipe, std::filesystem::path log) : pipe_(std::move(pipe)), log_(std::move(log)) {
    thread_ = std::thread([this] { pump(); });
  }
  ~Com1Capture() override { finish(); }

  void finish() override {
    if (!thread_.joinable()) return;
    stop_ = true;
    if (HANDLE h = handle_.load()) CancelIoEx(h, nullptr);
    thread_.join();
  }

 private:
  void pump() {
    HANDLE h = INVALID_HANDLE_VALUE;
    while (!stop_) {
      h = CreateFileW(pipe_.c_str(), GENERIC_READ, 0, nullptr, OPEN_EXISTING, 0, nullptr);
      if (h != INVALID_HANDLE_VALUE) break;
      Sleep(50);
    }
    if (h == INVALID_HANDLE_VALUE) return;
    handle_ = h;
    std::ofstream out(log_, std::ios::binary | std::ios::app);
    char buffer[4096];
    DWORD got = 0;
    while (ReadFile(h, buffer, sizeof buffer, &got, nullptr) && got > 0) {
      out.write(buffer, got);
      out.flush();
    }
    handle_ = nullptr;
    CloseHandle(h);
  }

  std::wstring pipe_;
  std::filesystem::path log_;
  std::atomic<bool> stop_{false};
  std::atomic<HANDLE> handle_{nullptr};
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<SerialCapture>> capture_com1(const std::string& pipe, const std::filesystem::path& log) {
  return std::unique_ptr<SerialCapture>(std::make_unique<Com1Capture>(widen(pipe), log));
}

}  // namespace microagent::windows_hyperv::win32
