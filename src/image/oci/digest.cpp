#include "image/oci/digest.hpp"

#include <openssl/evp.h>

#include <fmt/format.h>

namespace microagent::image {

Result<void> validate_digest(std::string_view digest) {
  constexpr std::string_view prefix = "sha256:";
  if (digest.substr(0, prefix.size()) != prefix) {
    auto colon = digest.find(':');
    if (colon != std::string_view::npos && colon > 0) {
      return fail(ErrorCode::unsupported, fmt::format("digest '{}' uses an algorithm other than sha256", digest));
    }
    return fail(ErrorCode::invalid_request, fmt::format("'{}' is not a digest (expected sha256:<64 hex digits>)", digest));
  }
  std::string_view hex = digest.substr(prefix.size());
  bool ok = hex.size() == 64;
  for (char c : hex) ok = ok && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  if (!ok) return fail(ErrorCode::invalid_request, fmt::format("'{}' is not a valid sha256 digest", digest));
  return {};
}

std::string digest_hex(std::string_view digest) {
  auto colon = digest.find(':');
  return std::string(colon == std::string_view::npos ? digest : digest.substr(colon + 1));
}

struct StreamingSha256::State {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~State() { EVP_MD_CTX_free(ctx); }
};

StreamingSha256::StreamingSha256() : state_(std::make_unique<State>()) {
  EVP_DigestInit_ex(state_->ctx, EVP_sha256(), nullptr);
}
StreamingSha256::~StreamingSha256() = default;
StreamingSha256::StreamingSha256(StreamingSha256&&) noexcept = default;
StreamingSha256& StreamingSha256::operator=(StreamingSha256&&) noexcept = default;

void StreamingSha256::update(const void* data, std::size_t size) { EVP_DigestUpdate(state_->ctx, data, size); }

std::string StreamingSha256::finish_digest() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(state_->ctx, md, &len);
  std::string out = "sha256:";
  for (unsigned i = 0; i < len; ++i) out += fmt::format("{:02x}", md[i]);
  return out;
}

}  // namespace microagent::image
