#pragma once
// Hands the result JSON to the host over AF_VSOCK (CID 2, port resultPort).
// Every step has a deadline: a guest whose host end is missing must still
// power off promptly, with the reason on the console.
#include <cstdint>
#include <expected>
#include <string_view>

#include "common/error.hpp"
#include "common/guest_wire.hpp"
#include "common/unique_fd.hpp"

namespace microagent::guestinit {

struct DeliveryOptions {
  std::uint32_t cid = kHostCid;
  // The host end may come up a moment after the guest asks: retry briefly.
  int connect_attempts = 20;
  int retry_delay_ms = 100;
  int connect_timeout_ms = 1000;
  // Budget for writing the payload and for the host's close that acknowledges it.
  int io_timeout_ms = 5000;
};

// A non-blocking AF_VSOCK stream to cid:port, or the errno that stopped it
// (ETIMEDOUT past timeout_ms).
std::expected<UniqueFd, int> connect_vsock(std::uint32_t cid, std::uint32_t port, int timeout_ms);

// A connected stream to the host's `port`, retried while the host end is late.
// Guest init opens the result and control channels this way BEFORE it forks
// the workload: the host accepts one connection per channel per boot
// (docs/vsock.md), so the workload finds them refused. The fd is CLOEXEC.
Result<UniqueFd> connect_host_channel(std::uint32_t port, const DeliveryOptions& options = {});

// connect_host_channel + deliver_over_stream: for a result with no workload
// behind it (the guest could not even load its config).
Result<void> send_result(std::uint32_t port, std::string_view payload, const DeliveryOptions& options = {});

// Writes all of payload to a (non-blocking) stream by the monotonic deadline_ms.
Result<void> write_before(int fd, std::string_view payload, std::uint64_t deadline_ms);

// The part after connect, on any connected stream socket: write all of payload,
// shutdown(SHUT_WR), read until EOF. Fails with host_unavailable past timeout_ms.
Result<void> deliver_over_stream(int fd, std::string_view payload, int timeout_ms);

}  // namespace microagent::guestinit
