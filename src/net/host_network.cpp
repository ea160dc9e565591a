#include "net/host_network.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "common/atomic_file.hpp"
#include "common/process.hpp"
#include "common/unique_fd.hpp"
#include "net/nft_rules.hpp"
#include "net/subnet_pool.hpp"

namespace microagent::net {
namespace {

constexpr int kCapNetAdmin = 12;

bool has_cap_net_admin() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("CapEff:", 0) == 0) {
      const auto caps = std::stoull(line.substr(7), nullptr, 16);
      return (caps >> kCapNetAdmin) & 1;
    }
  }
  return false;
}

Result<void> check_tun() {
  if (!has_cap_net_admin()) {
    return fail(ErrorCode::permission_denied,
                "creating a TAP device needs CAP_NET_ADMIN: run as root (or grant CAP_NET_ADMIN), or use --network user");
  }
  if (::access("/dev/net/tun", R_OK | W_OK) != 0) {
    return fail(ErrorCode::host_unavailable, "/dev/net/tun is not accessible: modprobe tun, or use --network user");
  }
  return {};
}

ifreq request_for(const std::string& name) {
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  return ifr;
}

Result<UniqueFd> inet_socket() {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return fail_errno("socket", errno);
  return fd;
}

Result<UniqueFd> open_tap(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ) return fail(ErrorCode::invalid_request, "bad TAP name '" + name + "'");
  UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
  if (!fd) return fail_errno("open /dev/net/tun", errno);
  ifreq ifr = request_for(name);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  if (::ioctl(fd.get(), TUNSETIFF, &ifr) != 0) return fail_errno("TUNSETIFF " + name, errno);
  return fd;
}

Result<void> run_nft(const std::string& script) {
  auto nft = run_command({"nft", "-f", "-"}, script);
  if (!nft) return fail(ErrorCode::host_unavailable, "nft is not installed (nat networking needs it): apt-get install nftables");
  if (!nft->status.success()) return fail(ErrorCode::host_unavailable, "nft refused the workspace's rules: " + nft->err);
  return {};
}

}  // namespace

bool interface_exists(const std::string& name) { return ::if_nametoindex(name.c_str()) != 0; }

Result<void> check_nat_host() {
  if (auto ok = check_tun(); !ok) return ok;
  auto forward = read_file("/proc/sys/net/ipv4/ip_forward");
  if (!forward || forward->empty() || (*forward)[0] != '1') {
    return fail(ErrorCode::host_unavailable, "nat networking needs IPv4 forwarding, which is off: run "
                                             "`sysctl -w net.ipv4.ip_forward=1` (microagent never changes it), or use --network user");
  }
  if (!find_program("nft")) {
    return fail(ErrorCode::host_unavailable, "nft is not installed (nat networking needs it): apt-get install nftables");
  }
  return {};
}

Result<void> check_bridged_host(const std::string& bridge) {
  if (auto ok = check_tun(); !ok) return ok;
  if (!interface_exists(bridge)) {
    return fail(ErrorCode::not_found, "bridge '" + bridge + "' does not exist: create it (ip link add " + bridge +
                                          " type bridge) or name an existing one");
  }
  std::error_code ec;
  if (!std::filesystem::exists("/sys/class/net/" + bridge + "/bridge", ec)) {
    return fail(ErrorCode::invalid_request, "interface '" + bridge + "' is not a Linux bridge: name a bridge");
  }
  return {};
}

Result<void> create_tap(const std::string& name) {
  auto fd = open_tap(name);
  if (!fd) return std::unexpected(fd.error());
  if (::ioctl(fd->get(), TUNSETPERSIST, 1) != 0) return fail_errno("TUNSETPERSIST " + name, errno);
  auto sock = inet_socket();
  if (!sock) return std::unexpected(sock.error());
  ifreq ifr = request_for(name);
  if (::ioctl(sock->get(), SIOCGIFFLAGS, &ifr) != 0) return fail_errno("SIOCGIFFLAGS " + name, errno);
  ifr.ifr_flags |= IFF_UP;
  if (::ioctl(sock->get(), SIOCSIFFLAGS, &ifr) != 0) return fail_errno("SIOCSIFFLAGS " + name, errno);
  return {};
}

Result<void> set_interface_address(const std::string& name, const std::string& address, int prefix) {
  auto sock = inet_socket();
  if (!sock) return std::unexpected(sock.error());
  auto set = [&](unsigned long op, const std::string& text, const char* what) -> Result<void> {
    ifreq ifr = request_for(name);
    auto* sin = reinterpret_cast<sockaddr_in*>(&ifr.ifr_addr);
    sin->sin_family = AF_INET;
    if (::inet_pton(AF_INET, text.c_str(), &sin->sin_addr) != 1) return fail(ErrorCode::invalid_request, "bad address " + text);
    if (::ioctl(sock->get(), op, &ifr) != 0) return fail_errno(std::string(what) + " " + name, errno);
    return {};
  };
  if (auto ok = set(SIOCSIFADDR, address, "SIOCSIFADDR"); !ok) return ok;
  return set(SIOCSIFNETMASK, prefix_to_netmask(prefix), "SIOCSIFNETMASK");
}

Result<void> attach_to_bridge(const std::string& name, const std::string& bridge) {
  auto sock = inet_socket();
  if (!sock) return std::unexpected(sock.error());
  ifreq ifr = request_for(bridge);
  ifr.ifr_ifindex = static_cast<int>(::if_nametoindex(name.c_str()));
  if (ifr.ifr_ifindex == 0) return fail(ErrorCode::not_found, "TAP " + name + " vanished");
  if (::ioctl(sock->get(), SIOCBRADDIF, &ifr) != 0) {
    return fail(ErrorCode::host_unavailable, "cannot attach " + name + " to bridge " + bridge + ": " + std::strerror(errno));
  }
  return {};
}

void delete_tap(const std::string& name) {
  if (name.empty() || !interface_exists(name)) return;
  auto fd = open_tap(name);
  if (fd) ::ioctl(fd->get(), TUNSETPERSIST, 0);
}

Result<void> apply_nat_rules(const std::string& tap, const std::string& subnet) {
  return run_nft(nat_ruleset({tap, subnet}));
}

void remove_nat_rules(const std::string& tap) {
  if (!tap.empty()) run_nft(nat_teardown(tap));
}

}  // namespace microagent::net
