#pragma once
// The store's name -> digest index (refs.json), replaced atomically. Callers
// hold the store lock around read-modify-write.
#include <filesystem>
#include <map>
#include <string>

#include "common/error.hpp"

namespace microagent::image {

using RefMap = std::map<std::string, std::string>;  // reference -> "sha256:<hex>"

// An absent file is an empty index.
Result<RefMap> read_ref_index(const std::filesystem::path& file);
Result<void> write_ref_index(const std::filesystem::path& file, const RefMap& refs);

// A reference is 1-255 printable characters without spaces or control bytes,
// and not a digest (those name images directly).
Result<void> validate_reference(const std::string& ref);

}  // namespace microagent::image
