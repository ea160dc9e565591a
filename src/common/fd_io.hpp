#pragma once
// Writing a whole buffer to a descriptor that may be non-blocking: retries on
// EINTR, waits (bounded per stall) on EAGAIN. Shared by the host and the guest.
#include <string_view>

namespace microagent {

// write(2) until done; false on error, or when the descriptor stays full for
// `stall_ms` (-1: wait as long as it takes, like a blocking write).
bool write_fully(int fd, std::string_view data, int stall_ms = -1);
// send(2) with MSG_NOSIGNAL (a closed peer is an error, not SIGPIPE); same rules.
bool send_fully(int fd, std::string_view data, int stall_ms = -1);

}  // namespace microagent
