#pragma once
// nat subnets: one small IPv4 subnet per workspace out of a private pool.
// The arithmetic is pure; a lease is a file created with O_EXCL in a shared
// directory, so concurrent supervisors can never hand out the same subnet.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "common/error.hpp"

namespace microagent::net {

struct Ipv4Subnet {
  std::uint32_t network = 0;  // host byte order
  int prefix = 30;

  std::uint32_t host(std::uint32_t index) const { return network + index; }
  std::string to_string() const;  // "10.213.0.4/30"
};

std::string ipv4_to_string(std::uint32_t address);
Result<std::uint32_t> ipv4_from_string(const std::string& text);
Result<Ipv4Subnet> parse_subnet(const std::string& text);
std::string prefix_to_netmask(int prefix);

// The default pool: 10.213.0.0/16 in /30s (16384 workspaces).
inline constexpr const char* kNatPool = "10.213.0.0/16";
inline constexpr int kNatPrefix = 30;

// The index-th /`prefix` subnet of `pool`, or nullopt past its end.
std::optional<Ipv4Subnet> nth_subnet(const Ipv4Subnet& pool, int prefix, std::uint32_t index);

// Claims the first free subnet of the pool for `owner` in `leases_dir`
// (<leases_dir>/<a.b.c.d>_<prefix>, holding the owner). conflict when the pool is full.
Result<Ipv4Subnet> lease_subnet(const std::filesystem::path& leases_dir, const std::string& owner,
                                const Ipv4Subnet& pool, int prefix);
// Removes the lease of `subnet` if `owner` holds it.
void release_subnet(const std::filesystem::path& leases_dir, const std::string& owner, const Ipv4Subnet& subnet);

}  // namespace microagent::net
