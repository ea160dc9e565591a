#pragma once
// Sizes the guest kernel's TCP memory limits (net.ipv4.tcp_mem) to the guest.
//
// Linux derives tcp_mem from RAM at boot: about 9% of it as the hard limit,
// 19 MiB in a 256 MiB guest. A published server under many parallel downloads
// reaches that (its bytes wait in guest sockets while the host drains them),
// and then the kernel drops segments and aborts orphaned connections, those of
// a server that wrote its last bytes and exited: the client sees a short body.
// A microVM runs one workload, so TCP may use up to half of its memory.
#include <cstdint>
#include <string>

namespace microagent::guestinit {

// "min pressure max" in pages, for /proc/sys/net/ipv4/tcp_mem: an eighth, a
// quarter and half of `mem_total_kib`. Empty when the size is unusable.
std::string tcp_mem_setting(std::uint64_t mem_total_kib, std::uint64_t page_bytes);

// Applies tcp_mem_setting() from /proc/meminfo. Returns a failure text, or "".
std::string size_tcp_memory_to_guest();

}  // namespace microagent::guestinit
