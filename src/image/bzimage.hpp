#pragma once
// Cuts the ELF vmlinux out of an x86 bzImage whose payload is LZ4-compressed.
// QEMU boots an ELF vmlinux carrying a Xen PVH entry note straight through
// -kernel, skipping the bzImage's real-mode setup and self-decompression: that
// is the faster boot on `microvm` (DESIGN.md section 5).
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace microagent::image {

// Linux x86 boot protocol (Documentation/arch/x86/boot.rst), offsets in the
// real-mode kernel header.
namespace bzimage_header {
inline constexpr std::size_t kSetupSects = 0x1f1;     // u8, 0 means 4
inline constexpr std::size_t kHeaderMagic = 0x202;    // "HdrS"
inline constexpr std::size_t kVersion = 0x206;        // u16, boot protocol version
inline constexpr std::size_t kPayloadOffset = 0x248;  // u32, from the protected-mode code (2.08+)
inline constexpr std::size_t kPayloadLength = 0x24c;  // u32
inline constexpr std::uint16_t kMinVersion = 0x0208;  // first protocol with payload fields
inline constexpr std::size_t kSectorSize = 512;
}  // namespace bzimage_header

// lz4 "legacy" frame (lz4 -l), which the kernel's Makefile.lib uses for
// vmlinux.bin.lz4: magic, then blocks of u32 LE compressed size + raw LZ4
// block, each decompressing to at most 8 MiB. The kernel build appends the
// u32 LE uncompressed size after the last block (size_append).
inline constexpr std::uint32_t kLz4LegacyMagic = 0x184C2102;
inline constexpr std::size_t kLz4LegacyBlockSize = 8u << 20;

struct BzImagePayload {
  std::size_t offset = 0;  // from the start of the bzImage file
  std::size_t length = 0;
};

// Locates the compressed payload; invalid_request when the header is not a
// bzImage with boot protocol >= 2.08 or the payload lies outside the file.
Result<BzImagePayload> locate_bzimage_payload(std::string_view bzimage);

// Decodes an lz4 legacy stream (with or without the kernel's size trailer).
Result<std::string> decompress_lz4_legacy(std::string_view stream);

// bzImage bytes -> ELF vmlinux bytes. unsupported for payloads compressed
// with anything but LZ4 (the error names the format).
Result<std::string> extract_vmlinux(std::string_view bzimage);

// True when the ELF64 image has a PT_NOTE with name "Xen" and type 18
// (XEN_ELFNOTE_PHYS32_ENTRY): QEMU's -kernel then boots it through PVH.
bool elf_has_pvh_note(std::string_view elf);

}  // namespace microagent::image
