#include "network_support.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <set>

#include "common/process.hpp"
#include "e2e_support.hpp"

namespace microagent::e2e {
namespace {

UniqueFd connect_loopback(std::uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return {};
  return fd;
}

}  // namespace

std::string http_get(std::uint16_t port, const std::string& path) {
  UniqueFd fd = connect_loopback(port);
  if (!fd) return "";
  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n";
  if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) return "";
  std::string response;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd.get(), buf, sizeof buf)) > 0) response.append(buf, static_cast<std::size_t>(n));
  if (response.rfind("HTTP/1.0 200", 0) != 0 && response.rfind("HTTP/1.1 200", 0) != 0) return "";
  const auto body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

std::string seq_mebibyte() {
  std::string text;
  for (int i = 1; text.size() < (1u << 20); ++i) text += std::to_string(i) + "\n";
  return text.substr(0, 1u << 20);
}

std::string httpd_workload(int guest_port) {
  return "mkdir -p /www && seq 1 200000 | head -c 1048576 > /www/f && echo hello > /www/index.html && "
         "httpd -f -p " + std::to_string(guest_port) + " -h /www";
}

std::uint16_t free_port() {
  static std::set<std::uint16_t> handed_out;
  for (int attempt = 0; attempt < 100; ++attempt) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      continue;
    }
    const std::uint16_t port = ntohs(addr.sin_port);
    if (handed_out.insert(port).second) return port;
  }
  return 0;
}

bool tcp_port_open(std::uint16_t port) { return static_cast<bool>(connect_loopback(port)); }

LoopbackServer::LoopbackServer(std::uint16_t port, std::string end,
                               std::function<std::string(const std::string&)> reply) {
  UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const int one = 1;
  ::setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listener.get(), 16) != 0) return;
  pid_ = ::fork();
  if (pid_ != 0) return;
  for (;;) {
    UniqueFd c(::accept(listener.get(), nullptr, nullptr));
    if (!c) continue;
    std::string request;
    char buf[512];
    for (ssize_t n; (end.empty() || request.find(end) == std::string::npos) && (n = ::read(c.get(), buf, sizeof buf)) > 0;) {
      request.append(buf, static_cast<std::size_t>(n));
    }
    const std::string answer = reply(request);
    (void)!::write(c.get(), answer.data(), answer.size());
  }
}

LoopbackServer::~LoopbackServer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

EchoServer::EchoServer(std::uint16_t port)
    : LoopbackServer(port, "\n", [](const std::string& read) {
        return "echo:" + read.substr(0, read.find('\n')) + "\n";
      }) {}

HttpServer::HttpServer(std::uint16_t port, const std::string& body)
    : LoopbackServer(port, "\r\n\r\n", [body](const std::string&) {
        return "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
               "\r\nConnection: close\r\n\r\n" + body;
      }) {}

std::vector<pid_t> processes_mentioning(const std::string& needle) {
  std::vector<pid_t> found;
  DIR* dir = ::opendir("/proc");
  while (dirent* entry = dir ? ::readdir(dir) : nullptr) {
    const pid_t pid = static_cast<pid_t>(std::atoi(entry->d_name));
    if (pid <= 0 || pid == ::getpid()) continue;
    std::string cmdline = read_text("/proc/" + std::to_string(pid) + "/cmdline");
    for (auto& c : cmdline) {
      if (c == '\0') c = ' ';
    }
    const std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
    const auto close = stat.rfind(')');
    const bool zombie = close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
    if (!zombie && cmdline.find(needle) != std::string::npos) found.push_back(pid);
  }
  if (dir) ::closedir(dir);
  return found;
}

int shell(const std::string& script, std::string* output) {
  auto run = run_command({"sh", "-c", script + " 2>&1"});
  if (!run) return -1;
  if (output) *output = run->out;
  return run->status.exit_code.value_or(-1);
}

bool host_network_mentions(const std::string& needle) {
  std::string links, rules;
  shell("ip link", &links);
  shell("nft list ruleset", &rules);
  return links.find(needle) != std::string::npos || rules.find(needle) != std::string::npos;
}

}  // namespace microagent::e2e
