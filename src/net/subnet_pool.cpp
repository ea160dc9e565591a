#include "net/subnet_pool.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/core.h>

#include "common/atomic_file.hpp"
#include "common/unique_fd.hpp"

namespace microagent::net {

std::string ipv4_to_string(std::uint32_t a) {
  return fmt::format("{}.{}.{}.{}", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

Result<std::uint32_t> ipv4_from_string(const std::string& text) {
  in_addr addr{};
  if (::inet_pton(AF_INET, text.c_str(), &addr) != 1) {
    return fail(ErrorCode::invalid_request, "'" + text + "' is not an IPv4 address");
  }
  return ntohl(addr.s_addr);
}

std::string Ipv4Subnet::to_string() const { return fmt::format("{}/{}", ipv4_to_string(network), prefix); }

Result<Ipv4Subnet> parse_subnet(const std::string& text) {
  const auto slash = text.find('/');
  if (slash == std::string::npos) return fail(ErrorCode::invalid_request, "subnet '" + text + "' must look like A.B.C.D/N");
  auto address = ipv4_from_string(text.substr(0, slash));
  if (!address) return std::unexpected(address.error());
  int prefix = -1;
  try {
    prefix = std::stoi(text.substr(slash + 1));
  } catch (...) {
  }
  if (prefix < 1 || prefix > 30) return fail(ErrorCode::invalid_request, "subnet '" + text + "' needs a prefix from 1 to 30");
  const std::uint32_t mask = prefix == 0 ? 0 : ~0u << (32 - prefix);
  if ((*address & ~mask) != 0) return fail(ErrorCode::invalid_request, "subnet '" + text + "' has host bits set");
  return Ipv4Subnet{*address, prefix};
}

std::string prefix_to_netmask(int prefix) { return ipv4_to_string(prefix == 0 ? 0 : ~0u << (32 - prefix)); }

std::optional<Ipv4Subnet> nth_subnet(const Ipv4Subnet& pool, int prefix, std::uint32_t index) {
  if (prefix < pool.prefix || prefix > 30) return std::nullopt;
  const std::uint64_t count = 1ull << (prefix - pool.prefix);
  if (index >= count) return std::nullopt;
  const std::uint32_t size = 1u << (32 - prefix);
  return Ipv4Subnet{pool.network + index * size, prefix};
}

namespace {
std::filesystem::path lease_path(const std::filesystem::path& dir, const Ipv4Subnet& subnet) {
  return dir / fmt::format("{}_{}", ipv4_to_string(subnet.network), subnet.prefix);
}
}  // namespace

Result<Ipv4Subnet> lease_subnet(const std::filesystem::path& leases_dir, const std::string& owner, const Ipv4Subnet& pool,
                                int prefix) {
  if (auto ok = ensure_directory(leases_dir, 0700); !ok) return std::unexpected(ok.error());
  for (std::uint32_t i = 0;; ++i) {
    auto subnet = nth_subnet(pool, prefix, i);
    if (!subnet) break;
    const auto path = lease_path(leases_dir, *subnet);
    // An owner that already holds a lease (a restart) keeps it.
    if (auto held = read_file(path); held && *held == owner) return *subnet;
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd) {
      if (errno == EEXIST) continue;
      return fail_errno("create subnet lease " + path.string(), errno);
    }
    if (::write(fd.get(), owner.data(), owner.size()) != static_cast<ssize_t>(owner.size())) {
      const int err = errno;
      ::unlink(path.c_str());
      return fail_errno("write subnet lease " + path.string(), err);
    }
    return *subnet;
  }
  return fail(ErrorCode::conflict, "every nat subnet of " + pool.to_string() + " is leased (" + leases_dir.string() +
                                       "): delete stopped workspaces to free some");
}

void release_subnet(const std::filesystem::path& leases_dir, const std::string& owner, const Ipv4Subnet& subnet) {
  const auto path = lease_path(leases_dir, subnet);
  if (auto held = read_file(path); held && *held == owner) ::unlink(path.c_str());
}

}  // namespace microagent::net
