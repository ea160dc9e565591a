#pragma once
// One captured stream of the workload (stdout or stderr): keeps the first
// `limit` bytes and counts the rest, so a chatty workload never blocks on a full
// pipe and never grows guest init's memory.
#include <cstdint>
#include <string>
#include <string_view>

namespace microagent::guestinit {

class BoundedOutput {
 public:
  explicit BoundedOutput(std::uint64_t limit) : limit_(limit) {}

  void append(std::string_view bytes) {
    total_ += bytes.size();
    const std::uint64_t room = limit_ > data_.size() ? limit_ - data_.size() : 0;
    if (bytes.size() > room) {
      truncated_ = true;
      bytes = bytes.substr(0, static_cast<std::size_t>(room));
    }
    data_.append(bytes);
  }

  const std::string& data() const { return data_; }
  std::string take_data() { return std::move(data_); }
  std::uint64_t total_bytes() const { return total_; }
  bool truncated() const { return truncated_; }

 private:
  std::uint64_t limit_;
  std::string data_;
  std::uint64_t total_ = 0;
  bool truncated_ = false;
};

}  // namespace microagent::guestinit
