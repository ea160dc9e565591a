#include "common/base64.hpp"

#include <gtest/gtest.h>

#include <string>

namespace microagent {
namespace {

std::string all_byte_values() {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  return bytes;
}

struct Vector {
  std::string plain;
  std::string standard;
  std::string url;
};

// RFC 4648 section 10 test vectors, plus bytes that differ between the alphabets.
const Vector kVectors[] = {
    {"", "", ""},
    {"f", "Zg==", "Zg"},
    {"fo", "Zm8=", "Zm8"},
    {"foo", "Zm9v", "Zm9v"},
    {"foob", "Zm9vYg==", "Zm9vYg"},
    {"fooba", "Zm9vYmE=", "Zm9vYmE"},
    {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
    {"\xfb\xff\xbf", "+/+/", "-_-_"},
};

TEST(Base64, EncodesRfc4648Vectors) {
  for (const auto& v : kVectors) {
    EXPECT_EQ(base64_encode(v.plain), v.standard);
    EXPECT_EQ(base64url_encode(v.plain), v.url);
  }
}

TEST(Base64, DecodesRfc4648Vectors) {
  for (const auto& v : kVectors) {
    EXPECT_EQ(base64_decode(v.standard).value(), v.plain) << v.standard;
    EXPECT_EQ(base64url_decode(v.url).value(), v.plain) << v.url;
  }
}

TEST(Base64, RoundTripsAllByteValuesAtEveryLength) {
  const std::string bytes = all_byte_values();
  for (std::size_t len = 0; len <= bytes.size(); ++len) {
    const std::string part = bytes.substr(bytes.size() - len);
    EXPECT_EQ(base64_decode(base64_encode(part)).value(), part) << len;
    EXPECT_EQ(base64url_decode(base64url_encode(part)).value(), part) << len;
  }
}

TEST(Base64, UrlFormHasNoCharactersAKernelCommandLineMangles) {
  const std::string encoded = base64url_encode(all_byte_values());
  EXPECT_EQ(encoded.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
}

TEST(Base64, RejectsBadStandardInput) {
  for (const char* bad : {"Zg", "Zg=", "Z===", "Zm9v!A==", "Zm 9v", "Zm9-", "Zh==", "=Zg=", "Zg==Zg==",
                          "-_-_"}) {
    auto decoded = base64_decode(bad);
    ASSERT_FALSE(decoded.has_value()) << bad;
    EXPECT_EQ(decoded.error().code, ErrorCode::invalid_request);
  }
}

TEST(Base64, RejectsBadUrlInput) {
  for (const char* bad : {"Z", "Zg==", "Zm9v+", "Zm9/", "Zh", "Zm9vY", "Zm.v", "Zm9v\n"}) {
    auto decoded = base64url_decode(bad);
    ASSERT_FALSE(decoded.has_value()) << bad;
    EXPECT_EQ(decoded.error().code, ErrorCode::invalid_request);
  }
}

}  // namespace
}  // namespace microagent
