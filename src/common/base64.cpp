#include "common/base64.hpp"

#include <array>
#include <cstdint>

namespace microagent {
namespace {

constexpr std::string_view kStandardAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kUrlAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::int8_t kInvalid = -1;

constexpr std::array<std::int8_t, 256> reverse_table(std::string_view alphabet) {
  std::array<std::int8_t, 256> table{};
  table.fill(kInvalid);
  for (std::size_t i = 0; i < alphabet.size(); ++i) {
    table[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
  }
  return table;
}

constexpr auto kStandardReverse = reverse_table(kStandardAlphabet);
constexpr auto kUrlReverse = reverse_table(kUrlAlphabet);

std::string encode(std::string_view bytes, std::string_view alphabet, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t n = (std::uint32_t(static_cast<unsigned char>(bytes[i])) << 16) |
                            (std::uint32_t(static_cast<unsigned char>(bytes[i + 1])) << 8) |
                            std::uint32_t(static_cast<unsigned char>(bytes[i + 2]));
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += alphabet[n & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const std::uint32_t n = std::uint32_t(static_cast<unsigned char>(bytes[i])) << 16;
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    if (pad) out += "==";
  } else if (rest == 2) {
    const std::uint32_t n = (std::uint32_t(static_cast<unsigned char>(bytes[i])) << 16) |
                            (std::uint32_t(static_cast<unsigned char>(bytes[i + 1])) << 8);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    if (pad) out += '=';
  }
  return out;
}

// Strict decoder: rejects characters outside the alphabet, a lone trailing
// symbol, and non-zero bits in the final symbol (so every text has exactly one
// decoding). Padding is required for the standard form and refused for the URL form.
Result<std::string> decode(std::string_view text, const std::array<std::int8_t, 256>& reverse,
                           bool padded, std::string_view name) {
  if (padded) {
    if (text.size() % 4 != 0) {
      return fail(ErrorCode::invalid_request, std::string(name) + ": length is not a multiple of 4");
    }
    std::size_t pads = 0;
    while (pads < 2 && pads < text.size() && text[text.size() - 1 - pads] == '=') ++pads;
    text.remove_suffix(pads);
  }
  if (text.size() % 4 == 1) {
    return fail(ErrorCode::invalid_request, std::string(name) + ": truncated input");
  }
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const std::int8_t v = reverse[static_cast<unsigned char>(c)];
    if (v == kInvalid) {
      return fail(ErrorCode::invalid_request, std::string(name) + ": invalid character");
    }
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  if ((acc & ((1u << bits) - 1)) != 0) {
    return fail(ErrorCode::invalid_request, std::string(name) + ": non-canonical trailing bits");
  }
  return out;
}

}  // namespace

std::string base64_encode(std::string_view bytes) { return encode(bytes, kStandardAlphabet, true); }

Result<std::string> base64_decode(std::string_view text) {
  return decode(text, kStandardReverse, true, "base64");
}

std::string base64url_encode(std::string_view bytes) { return encode(bytes, kUrlAlphabet, false); }

Result<std::string> base64url_decode(std::string_view text) {
  return decode(text, kUrlReverse, false, "base64url");
}

}  // namespace microagent
