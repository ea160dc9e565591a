#include "net/passt_command.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <thread>

#include <fmt/core.h>

#include "net/subnet_pool.hpp"

namespace microagent::net {

using namespace std::chrono_literals;

std::vector<std::string> build_passt_argv(const PasstSpec& spec) {
  const auto& a = spec.assignment;
  // --log-file fails once passt has sandboxed itself: log to stderr, which start_passt sends to log_file().
  std::vector<std::string> argv{spec.binary, "--foreground", "--quiet", "--stderr", "--socket", spec.socket().string()};
  argv.insert(argv.end(), {"--address", a.guest_address, "--netmask", std::to_string(a.prefix), "--gateway", a.gateway});
  // The guest asks the address passt answers on; passt forwards it to the host's resolver.
  for (const auto& dns : a.dns) argv.insert(argv.end(), {"--dns-forward", dns, "--dns", dns});
  // No inbound forwarding by passt itself: --publish goes over vsock. IPv4 only.
  argv.insert(argv.end(), {"-t", "none", "-u", "none", "--ipv4-only"});
  if (spec.exit_with_client) argv.push_back("--one-off");
  return argv;
}

Result<ChildProcess> start_passt(const PasstSpec& spec) {
  // Started by root, passt binds its socket either as nobody (Debian 12's) or
  // as root without CAP_DAC_OVERRIDE (newer ones): root:nobody's-group 0770
  // lets both write here, and no other user.
  std::error_code ec;
  std::filesystem::remove_all(spec.dir, ec);
  if (::mkdir(spec.dir.c_str(), 0700) != 0) return fail_errno("mkdir " + spec.dir.string(), errno);
  if (::geteuid() == 0) {
    const passwd* nobody = ::getpwnam("nobody");
    if (nobody == nullptr || ::chown(spec.dir.c_str(), 0, nobody->pw_gid) != 0 || ::chmod(spec.dir.c_str(), 0770) != 0) {
      return fail(ErrorCode::host_unavailable, "cannot open " + spec.dir.string() + " to user nobody (passt runs as nobody)");
    }
  }
  UniqueFd log(::open(spec.log_file().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  SpawnOptions options;
  options.stdout_fd = log ? log.get() : -1;
  options.stderr_fd = log ? log.get() : -1;
  if (spec.exit_with_client) options.parent_death_signal = SIGKILL;
  auto child = spawn_process(build_passt_argv(spec), options);
  if (!child) {
    if (child.error().code == ErrorCode::not_found) {
      return fail(ErrorCode::host_unavailable, "passt is not installed (user networking needs it): run ./scripts/fetch-passt (or apt-get install passt)");
    }
    return std::unexpected(child.error());
  }
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!std::filesystem::exists(spec.socket(), ec)) {
    if (auto status = child->wait(0ms)) {
      return fail(ErrorCode::host_unavailable, "passt exited at start-up (" + status->describe() +
                                                   "); see " + spec.log_file().string());
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      child->signal(SIGKILL);
      child->wait();
      return fail(ErrorCode::host_unavailable, "passt did not create its socket " + spec.socket().string() + " in time");
    }
    std::this_thread::sleep_for(5ms);
  }
  return child;
}

std::filesystem::path passt_dir_for(const std::string& runtime_key) {
  return fmt::format("/tmp/microagent-passt-{:016x}", std::hash<std::string>{}(runtime_key));
}

void remove_passt_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  if (dir.filename().string().rfind("microagent-passt-", 0) == 0) std::filesystem::remove_all(dir, ec);
}

}  // namespace microagent::net
