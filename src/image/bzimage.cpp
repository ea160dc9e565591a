#include "image/bzimage.hpp"

#include <lz4.h>

#include <cstring>
#include <fmt/format.h>

namespace microagent::image {
namespace {

template <class T>
T read_le(std::string_view bytes, std::size_t offset) {
  T value{};
  std::memcpy(&value, bytes.data() + offset, sizeof(T));  // x86_64 hosts: little-endian
  return value;
}

std::string_view name_compression(std::string_view payload) {
  auto starts = [&](std::string_view magic) { return payload.substr(0, magic.size()) == magic; };
  if (starts("\x1f\x8b")) return "gzip";
  if (starts("\xfd" "7zXZ")) return "xz";
  if (starts("\x28\xb5\x2f\xfd")) return "zstd";
  if (starts("BZh")) return "bzip2";
  if (starts("\x89LZO")) return "lzo";
  if (starts("\x5d\x00")) return "lzma";
  return "an unknown format";
}

}  // namespace

Result<BzImagePayload> locate_bzimage_payload(std::string_view bzimage) {
  using namespace bzimage_header;
  if (bzimage.size() < kPayloadLength + 4 || bzimage.substr(kHeaderMagic, 4) != "HdrS") {
    return fail(ErrorCode::invalid_request,
                "not a bzImage (no \"HdrS\" boot header at 0x202): pass the kernel's vmlinuz/bzImage file");
  }
  std::uint16_t version = read_le<std::uint16_t>(bzimage, kVersion);
  if (version < kMinVersion) {
    return fail(ErrorCode::invalid_request,
                fmt::format("bzImage boot protocol {}.{:02} has no payload fields (needs 2.08+)", version >> 8,
                            version & 0xff));
  }
  std::size_t setup_sects = static_cast<unsigned char>(bzimage[kSetupSects]);
  if (setup_sects == 0) setup_sects = 4;  // boot protocol: 0 means the historical 4
  std::size_t offset = (setup_sects + 1) * kSectorSize + read_le<std::uint32_t>(bzimage, kPayloadOffset);
  std::size_t length = read_le<std::uint32_t>(bzimage, kPayloadLength);
  if (length == 0 || offset > bzimage.size() || length > bzimage.size() - offset) {
    return fail(ErrorCode::invalid_request,
                fmt::format("bzImage payload [{}, +{}) lies outside the {}-byte file: the image is truncated or corrupt",
                            offset, length, bzimage.size()));
  }
  return BzImagePayload{offset, length};
}

Result<std::string> decompress_lz4_legacy(std::string_view stream) {
  if (stream.size() < 4 || read_le<std::uint32_t>(stream, 0) != kLz4LegacyMagic) {
    return fail(ErrorCode::invalid_request, "not an lz4 legacy stream (magic 0x184C2102 missing)");
  }
  const std::size_t max_block = static_cast<std::size_t>(LZ4_compressBound(kLz4LegacyBlockSize));
  std::string out;
  std::size_t pos = 4;
  bool saw_block = false;
  while (stream.size() - pos >= 4) {
    std::uint32_t block = read_le<std::uint32_t>(stream, pos);
    pos += 4;
    if (block == kLz4LegacyMagic) continue;  // concatenated legacy streams
    if (pos == stream.size()) {
      // The kernel's size_append trailer: the total uncompressed size.
      if (saw_block && block != out.size()) {
        return fail(ErrorCode::invalid_request,
                    fmt::format("lz4 stream decoded to {} bytes but its trailer says {}", out.size(), block));
      }
      break;
    }
    if (block == 0 || block > max_block || block > stream.size() - pos) {
      return fail(ErrorCode::invalid_request,
                  fmt::format("lz4 legacy block at offset {} claims {} bytes ({} remain): truncated or corrupt",
                              pos - 4, block, stream.size() - pos));
    }
    std::size_t used = out.size();
    out.resize(used + kLz4LegacyBlockSize);
    int n = LZ4_decompress_safe(stream.data() + pos, out.data() + used, static_cast<int>(block),
                                static_cast<int>(kLz4LegacyBlockSize));
    if (n < 0) {
      return fail(ErrorCode::invalid_request,
                  fmt::format("lz4 legacy block at offset {} does not decode: corrupt payload", pos - 4));
    }
    out.resize(used + static_cast<std::size_t>(n));
    pos += block;
    saw_block = true;
  }
  if (pos != stream.size()) {
    return fail(ErrorCode::invalid_request,
                fmt::format("lz4 legacy stream has {} stray trailing bytes: truncated", stream.size() - pos));
  }
  if (!saw_block) return fail(ErrorCode::invalid_request, "lz4 legacy stream holds no blocks");
  return out;
}

Result<std::string> extract_vmlinux(std::string_view bzimage) {
  auto payload = locate_bzimage_payload(bzimage);
  if (!payload) return std::unexpected(payload.error());
  std::string_view compressed = bzimage.substr(payload->offset, payload->length);
  if (compressed.size() < 4 || read_le<std::uint32_t>(compressed, 0) != kLz4LegacyMagic) {
    return fail(ErrorCode::unsupported,
                fmt::format("bzImage payload is compressed with {}, not LZ4: only LZ4 kernels (Debian cloud) "
                            "can be cut to vmlinux; boot the bzImage itself",
                            name_compression(compressed)));
  }
  auto elf = decompress_lz4_legacy(compressed);
  if (!elf) return fail(ErrorCode::invalid_request, "bzImage payload: " + elf.error().message);
  if (elf->substr(0, 4) != "\x7f" "ELF") {
    return fail(ErrorCode::invalid_request, "bzImage payload decompressed, but is not an ELF vmlinux");
  }
  return elf;
}

bool elf_has_pvh_note(std::string_view elf) {
  // ELF64 little-endian only: e_ident[EI_CLASS]=2, [EI_DATA]=1.
  if (elf.size() < 64 || elf.substr(0, 4) != "\x7f" "ELF" || elf[4] != 2 || elf[5] != 1) return false;
  auto phoff = read_le<std::uint64_t>(elf, 0x20);
  auto phentsize = read_le<std::uint16_t>(elf, 0x36);
  auto phnum = read_le<std::uint16_t>(elf, 0x38);
  if (phentsize < 56) return false;
  constexpr std::uint32_t kPtNote = 4;
  constexpr std::uint32_t kXenElfnotePhys32Entry = 18;
  for (std::uint16_t i = 0; i < phnum; ++i) {
    std::uint64_t ph = phoff + std::uint64_t{i} * phentsize;
    if (ph > elf.size() || elf.size() - ph < 56) return false;
    if (read_le<std::uint32_t>(elf, ph) != kPtNote) continue;
    std::uint64_t offset = read_le<std::uint64_t>(elf, ph + 0x08);
    std::uint64_t size = read_le<std::uint64_t>(elf, ph + 0x20);
    if (offset > elf.size() || size > elf.size() - offset) continue;
    std::string_view notes = elf.substr(offset, size);
    std::size_t pos = 0;
    auto align4 = [](std::size_t n) { return (n + 3) & ~std::size_t{3}; };
    while (notes.size() - pos >= 12) {
      std::uint32_t namesz = read_le<std::uint32_t>(notes, pos);
      std::uint32_t descsz = read_le<std::uint32_t>(notes, pos + 4);
      std::uint32_t type = read_le<std::uint32_t>(notes, pos + 8);
      std::size_t name_at = pos + 12;
      if (namesz > notes.size() - name_at) break;
      std::string_view name = notes.substr(name_at, namesz);
      if (type == kXenElfnotePhys32Entry && (name == std::string_view("Xen\0", 4) || name == "Xen")) return true;
      std::size_t next = name_at + align4(namesz);
      if (next > notes.size() || descsz > notes.size() - next) break;
      pos = next + align4(descsz);
      if (pos > notes.size()) break;
    }
  }
  return false;
}

}  // namespace microagent::image
