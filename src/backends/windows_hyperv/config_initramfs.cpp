#include "backends/windows_hyperv/config_initramfs.hpp"

#include <fmt/core.h>

#include "common/atomic_file.hpp"
#include "common/guest_wire.hpp"

namespace microagent::windows_hyperv {

namespace {

constexpr std::string_view kNewcMagic = "070701";
constexpr std::string_view kTrailerName = "TRAILER!!!";

void pad_to_4(std::string& out) { out.append((4 - out.size() % 4) % 4, '\0'); }

void append_entry(std::string& out, std::uint32_t ino, std::uint32_t mode, std::uint32_t nlink, std::string_view name,
                  std::string_view data) {
  const auto namesize = static_cast<std::uint32_t>(name.size() + 1);  // with its NUL
  out += kNewcMagic;
  for (std::uint32_t field : {ino, mode, 0u /*uid*/, 0u /*gid*/, nlink, 0u /*mtime*/,
                              static_cast<std::uint32_t>(data.size()), 0u, 0u, 0u, 0u, namesize, 0u /*check*/}) {
    out += fmt::format("{:08X}", field);
  }
  out += name;
  out.push_back('\0');
  pad_to_4(out);  // the header is 110 bytes: header + name are padded together
  out += data;
  pad_to_4(out);
}

}  // namespace

std::string newc_archive(const std::vector<NewcEntry>& entries) {
  std::string out;
  std::uint32_t ino = 0x4d410000;  // arbitrary; only nlink >= 2 makes the kernel look at it
  for (const auto& entry : entries) {
    const bool directory = (entry.mode & 0170000) == kNewcDirectory;
    append_entry(out, ++ino, entry.mode, directory ? 2 : 1, entry.path, directory ? std::string_view() : entry.data);
  }
  append_entry(out, 0, 0, 1, kTrailerName, {});
  return out;
}

std::string config_archive(std::string_view config_json) {
  std::string path = kInitramfsConfigPath;
  const std::string directory = path.substr(0, path.find('/'));
  return newc_archive({{directory, kNewcDirectory | 0755, {}}, {path, kNewcRegularFile | 0600, std::string(config_json)}});
}

Result<void> write_initrd_with_config(const std::filesystem::path& base, std::string_view config_json,
                                      const std::filesystem::path& out) {
  auto bytes = read_file(base);
  if (!bytes) {
    return fail(bytes.error().code, "read the kernel artifact's initrd " + base.string() + ": " + bytes.error().message);
  }
  // The kernel looks for the next archive's magic on a 4-byte boundary.
  pad_to_4(*bytes);
  *bytes += config_archive(config_json);
  return write_file_atomic(out, *bytes, 0644);
}

}  // namespace microagent::windows_hyperv
