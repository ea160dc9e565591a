#include "guestinit/guest_network.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/fd_io.hpp"
#include "common/unique_fd.hpp"
#include "guestinit/console_log.hpp"
#include "guestinit/rst_ack_fixup.hpp"

namespace microagent::guestinit {
namespace {

// The NIC's driver may still be probing when init gets here: wait a little.
constexpr int kInterfaceWaitMs = 3000;

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

std::string set_link_up(const std::string& name) {
  UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) return errno_text("socket");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) != 0) return errno_text("SIOCGIFFLAGS " + name);
  ifr.ifr_flags |= IFF_UP;
  if (::ioctl(sock.get(), SIOCSIFFLAGS, &ifr) != 0) return errno_text("SIOCSIFFLAGS " + name);
  return {};
}

// One rtnetlink request with attributes, acknowledged by the kernel.
class NetlinkRequest {
 public:
  NetlinkRequest(std::uint16_t type, std::uint16_t flags) {
    header()->nlmsg_type = type;
    header()->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
    header()->nlmsg_len = NLMSG_LENGTH(0);
  }
  template <typename T>
  T* body() {
    auto* b = reinterpret_cast<T*>(NLMSG_DATA(header()));
    header()->nlmsg_len = NLMSG_LENGTH(sizeof(T));
    return b;
  }
  void attr(std::uint16_t type, const void* data, std::size_t size) {
    auto* rta = reinterpret_cast<rtattr*>(buf_ + NLMSG_ALIGN(header()->nlmsg_len));
    rta->rta_type = type;
    rta->rta_len = static_cast<unsigned short>(RTA_LENGTH(size));
    std::memcpy(RTA_DATA(rta), data, size);
    header()->nlmsg_len = NLMSG_ALIGN(header()->nlmsg_len) + RTA_ALIGN(rta->rta_len);
  }
  // Empty on success, else the kernel's complaint.
  std::string send(const std::string& what) {
    UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (!fd) return errno_text("netlink socket");
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(fd.get(), buf_, header()->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) {
      return errno_text(what);
    }
    char reply[4096];
    const ssize_t n = ::recv(fd.get(), reply, sizeof reply, 0);
    if (n < static_cast<ssize_t>(NLMSG_LENGTH(sizeof(nlmsgerr)))) return errno_text(what + " (no reply)");
    auto* h = reinterpret_cast<nlmsghdr*>(reply);
    if (h->nlmsg_type == NLMSG_ERROR) {
      const int error = -reinterpret_cast<nlmsgerr*>(NLMSG_DATA(h))->error;
      if (error != 0 && error != EEXIST) return what + ": " + std::strerror(error);
    }
    return {};
  }

 private:
  nlmsghdr* header() { return reinterpret_cast<nlmsghdr*>(buf_); }
  alignas(nlmsghdr) char buf_[512]{};
};

std::string add_address(unsigned index, const in_addr& address, int prefix) {
  NetlinkRequest req(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  auto* ifa = req.body<ifaddrmsg>();
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = static_cast<unsigned char>(prefix);
  ifa->ifa_index = index;
  req.attr(IFA_LOCAL, &address, sizeof address);
  req.attr(IFA_ADDRESS, &address, sizeof address);
  return req.send("add address");
}

std::string add_default_route(unsigned index, const in_addr& gateway) {
  NetlinkRequest req(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  auto* rt = req.body<rtmsg>();
  rt->rtm_family = AF_INET;
  rt->rtm_table = RT_TABLE_MAIN;
  rt->rtm_protocol = RTPROT_BOOT;
  rt->rtm_scope = RT_SCOPE_UNIVERSE;
  rt->rtm_type = RTN_UNICAST;
  req.attr(RTA_GATEWAY, &gateway, sizeof gateway);
  req.attr(RTA_OIF, &index, sizeof index);
  return req.send("add default route");
}

unsigned wait_for_interface(const std::string& name) {
  for (int waited = 0; waited < kInterfaceWaitMs; waited += 50) {
    if (const unsigned index = ::if_nametoindex(name.c_str())) return index;
    ::usleep(50000);
  }
  return 0;
}

}  // namespace

std::string resolv_conf_text(const std::vector<std::string>& dns) {
  std::string text;
  for (const auto& server : dns) text += "nameserver " + server + "\n";
  return text;
}

std::string hosts_file_text(const std::string& hostname) {
  std::string text = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
  if (!hostname.empty() && hostname != "localhost") text += "127.0.1.1\t" + hostname + "\n";
  return text;
}

std::vector<std::string> configure_guest_network(const GuestNetwork& network) {
  std::vector<std::string> failures;
  if (auto error = set_link_up("lo"); !error.empty()) failures.push_back(error);
  // The embedded image has no /etc/hosts: without one "localhost" went to DNS
  // (passt's forwarder) and failed after its timeout. An image's own file wins.
  if (struct stat st{}; ::lstat("/etc/hosts", &st) != 0 && errno == ENOENT) {
    char hostname[256] = {};
    ::gethostname(hostname, sizeof hostname - 1);
    ::mkdir("/etc", 0755);
    UniqueFd fd(::open("/etc/hosts", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!fd || !write_fully(fd.get(), hosts_file_text(hostname))) failures.push_back(errno_text("write /etc/hosts"));
  }
  if (network.interface.empty()) return failures;
  const unsigned index = wait_for_interface(network.interface);
  if (index == 0) {
    failures.push_back("network interface " + network.interface + " did not appear (is virtio_net loaded?)");
    return failures;
  }
  if (auto error = set_link_up(network.interface); !error.empty()) failures.push_back(error);
  // passt answers a SYN to a closed port with a RST the guest must ignore (see rst_ack_fixup.hpp).
  if (network.mode == "user") {
    if (auto error = attach_rst_ack_fixup(index); !error.empty()) failures.push_back(error);
  }
  if (network.address.empty()) return failures;
  in_addr address{}, gateway{};
  if (::inet_pton(AF_INET, network.address.c_str(), &address) != 1) {
    failures.push_back("bad guest address " + network.address);
    return failures;
  }
  if (auto error = add_address(index, address, network.prefix); !error.empty()) failures.push_back(error);
  if (!network.gateway.empty()) {
    if (::inet_pton(AF_INET, network.gateway.c_str(), &gateway) != 1) {
      failures.push_back("bad gateway " + network.gateway);
    } else if (auto error = add_default_route(index, gateway); !error.empty()) {
      failures.push_back(error);
    }
  }
  if (!network.dns.empty()) {
    ::mkdir("/etc", 0755);
    // Images often ship resolv.conf as a link into a resolver's runtime dir
    // (systemd-resolved) that does not exist here: replace the link itself.
    struct stat st{};
    if (::lstat("/etc/resolv.conf", &st) == 0 && S_ISLNK(st.st_mode)) ::unlink("/etc/resolv.conf");
    UniqueFd fd(::open("/etc/resolv.conf", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd || !write_fully(fd.get(), resolv_conf_text(network.dns))) failures.push_back(errno_text("write /etc/resolv.conf"));
  }
  debug_line("network " + network.interface + " " + network.address + "/" + std::to_string(network.prefix) + " via " +
             network.gateway);
  return failures;
}

}  // namespace microagent::guestinit
