#pragma once
// SHA-256 through OpenSSL's EVP interface, as lowercase hex.
#include <filesystem>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace microagent {

std::string sha256_hex(std::string_view data);
// Streams the file; not_found / permission_denied / internal from the open or read.
Result<std::string> sha256_file(const std::filesystem::path& path);

}  // namespace microagent
