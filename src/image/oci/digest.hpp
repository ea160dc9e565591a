#pragma once
// OCI content digests ("sha256:<64 hex>") and a streaming SHA-256 to check
// blobs while they are read. Only sha256 is accepted: it is what every image
// tool writes, and a strict hex check keeps a digest safe to use as a path.
#include <memory>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace microagent::image {

// invalid_request unless `digest` is "sha256:" + 64 lowercase hex digits
// (another algorithm is unsupported).
Result<void> validate_digest(std::string_view digest);
// The hex part of a valid digest.
std::string digest_hex(std::string_view digest);

class StreamingSha256 {
 public:
  StreamingSha256();
  ~StreamingSha256();
  StreamingSha256(StreamingSha256&&) noexcept;
  StreamingSha256& operator=(StreamingSha256&&) noexcept;
  void update(const void* data, std::size_t size);
  // "sha256:<hex>"; the object is spent afterwards.
  std::string finish_digest();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace microagent::image
