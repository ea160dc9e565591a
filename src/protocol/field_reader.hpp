#pragma once
// Typed, fail-closed reads of JSON object fields: a wrong type or a bad value
// becomes an invalid_request Error naming the field, never an exception.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace microagent::protocol {

class FieldReader {
 public:
  FieldReader(const nlohmann::json& object, std::string where) : object_(object), where_(std::move(where)) {}

  bool has(const char* key) const { return object_.contains(key) && !object_.at(key).is_null(); }
  void read(const char* key, std::string& out, bool required = false);
  void read(const char* key, std::int64_t& out, bool required = false);
  void read(const char* key, std::uint64_t& out, bool required = false);
  void read(const char* key, std::uint32_t& out, bool required = false);
  void read(const char* key, bool& out, bool required = false);
  void read(const char* key, std::vector<std::string>& out, bool required = false);
  void read(const char* key, std::map<std::string, std::string>& out, bool required = false);
  // Field `key` as an object (nullptr when absent or on error).
  const nlohmann::json* object(const char* key, bool required = false);
  const nlohmann::json* array(const char* key, bool required = false);

  void error(std::string message);
  bool ok() const { return !failed_; }
  const Error& first_error() const { return error_; }
  std::string path(const char* key) const { return where_.empty() ? key : where_ + "." + key; }

 private:
  const nlohmann::json* field(const char* key, bool required);
  const nlohmann::json& object_;
  std::string where_;
  bool failed_ = false;
  Error error_;
};

}  // namespace microagent::protocol
