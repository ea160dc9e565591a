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

// Connects, writes, half-closes, and waits for the host's EOF (its
// acknowledgement that it has the whole result) so power-off cannot cut it short.
Result<void> send_result(std::uint32_t port, std::string_view payload, const DeliveryOptions& options = {});

// The part after connect, on any connected stream socket: write all of payload,
// shutdown(SHUT_WR), read until EOF. Fails with host_unavailable past timeout_ms.
Result<void> deliver_over_stream(int fd, std::string_view payload, int timeout_ms);

}  // namespace microagent::guestinit
