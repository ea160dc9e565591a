#include "protocol/field_reader.hpp"

namespace microagent::protocol {

void FieldReader::error(std::string message) {
  if (failed_) return;
  failed_ = true;
  error_ = Error{ErrorCode::invalid_request, std::move(message)};
}

const nlohmann::json* FieldReader::field(const char* key, bool required) {
  if (!has(key)) {
    if (required) error(path(key) + " is required");
    return nullptr;
  }
  return &object_.at(key);
}

void FieldReader::read(const char* key, std::string& out, bool required) {
  if (auto* v = field(key, required)) {
    if (!v->is_string()) return error(path(key) + " must be a string");
    out = v->get<std::string>();
  }
}

void FieldReader::read(const char* key, std::int64_t& out, bool required) {
  if (auto* v = field(key, required)) {
    if (!v->is_number_integer()) return error(path(key) + " must be an integer");
    out = v->get<std::int64_t>();
  }
}

void FieldReader::read(const char* key, std::uint64_t& out, bool required) {
  if (auto* v = field(key, required)) {
    if (!v->is_number_integer() || (v->is_number_integer() && !v->is_number_unsigned() && v->get<std::int64_t>() < 0)) {
      return error(path(key) + " must be a non-negative integer");
    }
    out = v->get<std::uint64_t>();
  }
}

void FieldReader::read(const char* key, std::uint32_t& out, bool required) {
  std::uint64_t wide = out;
  read(key, wide, required);
  if (!ok()) return;
  if (wide > 0xFFFFFFFFull) return error(path(key) + " is out of range");
  out = static_cast<std::uint32_t>(wide);
}

void FieldReader::read(const char* key, bool& out, bool required) {
  if (auto* v = field(key, required)) {
    if (!v->is_boolean()) return error(path(key) + " must be a boolean");
    out = v->get<bool>();
  }
}

void FieldReader::read(const char* key, std::vector<std::string>& out, bool required) {
  if (auto* v = field(key, required)) {
    if (!v->is_array()) return error(path(key) + " must be an array of strings");
    std::vector<std::string> items;
    for (const auto& item : *v) {
      if (!item.is_string()) return error(path(key) + " must be an array of strings");
      items.push_back(item.get<std::string>());
    }
    out = std::move(items);
  }
}

void FieldReader::read(const char* key, std::map<std::string, std::string>& out, bool required) {
  if (auto* v = field(key, required)) {
    if (!v->is_object()) return error(path(key) + " must be an object of strings");
    std::map<std::string, std::string> items;
    for (const auto& [k, item] : v->items()) {
      if (!item.is_string()) return error(path(key) + "." + k + " must be a string");
      items[k] = item.get<std::string>();
    }
    out = std::move(items);
  }
}

const nlohmann::json* FieldReader::object(const char* key, bool required) {
  auto* v = field(key, required);
  if (v && !v->is_object()) {
    error(path(key) + " must be an object");
    return nullptr;
  }
  return v;
}

const nlohmann::json* FieldReader::array(const char* key, bool required) {
  auto* v = field(key, required);
  if (v && !v->is_array()) {
    error(path(key) + " must be an array");
    return nullptr;
  }
  return v;
}

}  // namespace microagent::protocol
