#include "backends/windows_hyperv/win32/listener_helper.hpp"

#include "backends/windows_hyperv/win32/windows_headers.hpp"
#include <ws2tcpip.h>

#include <fstream>
#include <mutex>
#include <thread>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "backends/windows_hyperv/hvsocket_service.hpp"
#include "backends/windows_hyperv/win32/win32_channels.hpp"
#include "backends/windows_hyperv/win32/win32_error.hpp"
#include "backends/windows_hyperv/win32/win32_windows_host.hpp"
#include "common/atomic_file.hpp"
#include "common/clock.hpp"
#include "common/guest_wire.hpp"

#ifndef AF_HYPERV
#define AF_HYPERV 34
#endif

namespace microagent::windows_hyperv::win32 {

using nlohmann::json;

namespace {

std::mutex log_mutex;
std::filesystem::path log_path;

void log(const std::string& line) {
  std::lock_guard lock(log_mutex);
  std::ofstream(log_path, std::ios::app) << rfc3339_now() << " " << line << "\n";
}

GUID guid_of(const std::string& text) {
  GUID guid{};
  std::string bare = text;
  UuidFromStringA(reinterpret_cast<RPC_CSTR>(bare.data()), &guid);
  return guid;
}

SOCKADDR_HV hv_address(const std::string& vm_runtime_id, std::uint32_t port) {
  SOCKADDR_HV address{};
  address.Family = AF_HYPERV;
  if (!vm_runtime_id.empty()) address.VmId = guid_of(vm_runtime_id);
  address.ServiceId = guid_of(vsock_service_id(port));
  return address;
}

// Copies both directions until either side closes, then closes both.
void relay(SOCKET a, SOCKET b) {
  auto pump = [](SOCKET from, SOCKET to) {
    char buffer[65536];
    for (;;) {
      const int n = recv(from, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      for (int sent = 0; sent < n;) {
        const int m = send(to, buffer + sent, n - sent, 0);
        if (m <= 0) return;
        sent += m;
      }
    }
    shutdown(to, SD_SEND);
  };
  std::thread back(pump, b, a);
  pump(a, b);
  back.join();
  closesocket(a);
  closesocket(b);
}

// Host TCP host:host_port -> guest Hyper-V service guest_port.
void serve_published_port(const std::string& vm, const json& forward) {
  const std::string host = forward.value("host", "127.0.0.1");
  const int host_port = forward.value("hostPort", 0), guest_port = forward.value("guestPort", 0);
  SOCKET listener = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<u_short>(host_port));
  inet_pton(AF_INET, host.c_str(), &address.sin_addr);
  if (bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || listen(listener, 16) != 0) {
    log(fmt::format("publish {}:{} -> guest {}: cannot listen: {}", host, host_port, guest_port,
                    system_message(static_cast<DWORD>(WSAGetLastError()))));
    return;
  }
  log(fmt::format("publish {}:{} -> guest port {}", host, host_port, guest_port));
  for (;;) {
    SOCKET client = accept(listener, nullptr, nullptr);
    if (client == INVALID_SOCKET) break;
    SOCKET guest = socket(AF_HYPERV, SOCK_STREAM, HV_PROTOCOL_RAW);
    const SOCKADDR_HV target = hv_address(vm, static_cast<std::uint32_t>(guest_port));
    if (connect(guest, reinterpret_cast<const sockaddr*>(&target), sizeof target) != 0) {
      log(fmt::format("publish {}: guest port {} refused: {}", host_port, guest_port,
                      system_message(static_cast<DWORD>(WSAGetLastError()))));
      closesocket(guest);
      closesocket(client);
      continue;
    }
    std::thread(relay, client, guest).detach();
  }
}

// Guest -> host Hyper-V service `port` -> TCP `target` ("host:port").
void serve_mediation(const std::string& vm, const json& mediation) {
  const std::uint32_t port = mediation.value("port", 0u);
  const std::string target = mediation.value("target", "");
  const auto colon = target.rfind(':');
  if (colon == std::string::npos) return log("mediation: target '" + target + "' is not host:port");
  SOCKET listener = socket(AF_HYPERV, SOCK_STREAM, HV_PROTOCOL_RAW);
  const SOCKADDR_HV address = hv_address(vm, port);
  if (bind(listener, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 || listen(listener, 16) != 0) {
    return log(fmt::format("mediation port {}: cannot listen: {}", port,
                           system_message(static_cast<DWORD>(WSAGetLastError()))));
  }
  log(fmt::format("mediation guest port {} -> {}", port, target));
  for (;;) {
    SOCKET guest = accept(listener, nullptr, nullptr);
    if (guest == INVALID_SOCKET) break;
    addrinfo hints{}, *found = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    const std::string host = target.substr(0, colon), service = target.substr(colon + 1);
    SOCKET upstream = INVALID_SOCKET;
    if (getaddrinfo(host.c_str(), service.c_str(), &hints, &found) == 0 && found) {
      upstream = socket(found->ai_family, SOCK_STREAM, IPPROTO_TCP);
      if (connect(upstream, found->ai_addr, static_cast<int>(found->ai_addrlen)) != 0) {
        closesocket(upstream);
        upstream = INVALID_SOCKET;
      }
      freeaddrinfo(found);
    }
    if (upstream == INVALID_SOCKET) {
      log("mediation: cannot reach " + target);
      closesocket(guest);
      continue;
    }
    std::thread(relay, guest, upstream).detach();
  }
}

// Guest init's readiness lines on the control port ({"event":"guestReady",
// "at":...}, guestinit/control_channel.hpp) -> readiness.json for `inspect`.
void serve_control(const std::string& vm, std::uint32_t port, const std::filesystem::path& runtime_dir) {
  SOCKET listener = socket(AF_HYPERV, SOCK_STREAM, HV_PROTOCOL_RAW);
  const SOCKADDR_HV address = hv_address(vm, port);
  if (bind(listener, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 || listen(listener, 4) != 0) {
    return log(fmt::format("control port {}: cannot listen: {}", port,
                           system_message(static_cast<DWORD>(WSAGetLastError()))));
  }
  json readiness = json::object();
  for (;;) {
    SOCKET guest = accept(listener, nullptr, nullptr);
    if (guest == INVALID_SOCKET) break;
    std::string line;
    char c = 0;
    while (recv(guest, &c, 1, 0) == 1) {
      if (c != '\n') {
        line.push_back(c);
        continue;
      }
      const json event = json::parse(line, nullptr, false);
      line.clear();
      if (!event.is_object() || !event.contains("event") || !event["event"].is_string()) continue;
      const std::string name = event["event"];
      if (name != "guestReady" && name != "shellReady") continue;
      readiness[name] = {{"ready", true}, {"observedAt", event.value("at", rfc3339_now())}};
      write_file_atomic(runtime_dir / "readiness.json", readiness.dump());
      log("guest reported " + name);
    }
    closesocket(guest);
  }
}

}  // namespace

Result<std::uint32_t> spawn_listener_helper_process(const ListenerHelperSpec& spec, const std::string& vm_runtime_id) {
  json forwards = json::array();
  for (const auto& f : spec.port_forwards) {
    forwards.push_back({{"host", f.host}, {"hostPort", f.host_port}, {"guestPort", f.guest_port}});
  }
  json document{{"computeSystemId", spec.compute_system_id}, {"vmRuntimeId", vm_runtime_id},
                {"com1Pipe", spec.com1_pipe},               {"resultPort", spec.result_port},
                {"forwards", forwards}};
  if (spec.mediation) document["mediation"] = {{"port", spec.mediation->port}, {"target", spec.mediation->target}};
  if (auto ok = write_file_atomic(spec.runtime_dir / "listener.json", document.dump()); !ok) {
    return std::unexpected(ok.error());
  }
  wchar_t self[MAX_PATH * 4];
  const DWORD n = GetModuleFileNameW(nullptr, self, static_cast<DWORD>(std::size(self)));
  const std::wstring exe(self, n);
  std::wstring command_line = L"\"" + exe + L"\" listener-helper \"" + spec.runtime_dir.wstring() + L"\"";
  STARTUPINFOW startup{};
  startup.cb = sizeof startup;
  PROCESS_INFORMATION process{};
  const DWORD flags = DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW;
  // Out of the caller's job when allowed, so closing the CLI's console does not end it.
  if (!CreateProcessW(exe.c_str(), command_line.data(), nullptr, nullptr, FALSE, flags | CREATE_BREAKAWAY_FROM_JOB,
                      nullptr, nullptr, &startup, &process) &&
      !CreateProcessW(exe.c_str(), command_line.data(), nullptr, nullptr, FALSE, flags, nullptr, nullptr, &startup,
                      &process)) {
    return fail_win32("start the listener helper", GetLastError());
  }
  CloseHandle(process.hThread);
  CloseHandle(process.hProcess);
  return static_cast<std::uint32_t>(process.dwProcessId);
}

int run_listener_helper(const std::filesystem::path& runtime_dir) {
  log_path = runtime_dir / "hvsock-listener.log";
  auto text = read_file(runtime_dir / "listener.json");
  const json spec = text ? json::parse(*text, nullptr, false) : json();
  if (!spec.is_object()) {
    log("listener.json is missing or malformed");
    return 1;
  }
  WSADATA data{};
  WSAStartup(MAKEWORD(2, 2), &data);
  Win32WindowsHost host;
  const std::string id = spec.value("computeSystemId", ""), vm = spec.value("vmRuntimeId", "");
  auto running = [&] {
    auto state = host.compute_system_state(id);
    return state && (*state == ComputeSystemState::running || *state == ComputeSystemState::created ||
                     *state == ComputeSystemState::paused);
  };
  log("listener helper up for " + id);
  auto serial = capture_com1(spec.value("com1Pipe", ""), runtime_dir / "serial.log");
  for (const auto& forward : spec.value("forwards", json::array())) {
    std::thread(serve_published_port, vm, forward).detach();
  }
  if (spec.contains("mediation")) std::thread(serve_mediation, vm, spec["mediation"]).detach();
  std::thread(serve_control, vm, kControlPort, runtime_dir).detach();
  std::thread([&] {
    auto listener = listen_hvsocket(vm, spec.value("resultPort", 1024u), running);
    if (!listener) return log("result port: " + listener.error().message);
    auto result = (*listener)->receive(std::nullopt);
    if (!result) return log("result: " + result.error().message);
    if (auto ok = write_file_atomic(runtime_dir / "result.json", *result); !ok) log("result.json: " + ok.error().message);
    log("result delivered");
  }).detach();
  while (running()) Sleep(1000);
  if (serial) (*serial)->finish();
  log("compute system " + id + " is gone; listener helper exits");
  // Detached threads may still block in accept: end the process outright.
  ExitProcess(0);
}

}  // namespace microagent::windows_hyperv::win32
