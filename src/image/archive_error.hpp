#pragma once
// libarchive's last error on a handle, as text for our error messages.
#include <archive.h>

#include <string>

namespace microagent::image {

inline std::string archive_message(archive* a) {
  const char* text = archive_error_string(a);
  return text ? text : "unknown libarchive error";
}

}  // namespace microagent::image
