#include "image/bzimage.hpp"

#include <gtest/gtest.h>
#include <lz4.h>

#include <cstring>
#include <filesystem>
#include <random>

#include "image/kernel_deb.hpp"
#include "image_test_util.hpp"

namespace microagent::image {
namespace {

using testing::read_text;

void put_le32(std::string& out, std::size_t at, std::uint32_t v) { std::memcpy(out.data() + at, &v, 4); }
void append_le32(std::string& out, std::uint32_t v) {
  char b[4];
  std::memcpy(b, &v, 4);
  out.append(b, 4);
}

// lz4 -l: magic, then (size, block) per 8 MiB of input; plus the kernel's size trailer.
std::string lz4_legacy(std::string_view data, bool size_trailer = true) {
  std::string out;
  append_le32(out, kLz4LegacyMagic);
  for (std::size_t pos = 0; pos < data.size(); pos += kLz4LegacyBlockSize) {
    std::size_t n = std::min(kLz4LegacyBlockSize, data.size() - pos);
    std::string block(static_cast<std::size_t>(LZ4_compressBound(static_cast<int>(n))), '\0');
    int c = LZ4_compress_default(data.data() + pos, block.data(), static_cast<int>(n), static_cast<int>(block.size()));
    EXPECT_GT(c, 0);
    append_le32(out, static_cast<std::uint32_t>(c));
    out.append(block.data(), static_cast<std::size_t>(c));
  }
  if (size_trailer) append_le32(out, static_cast<std::uint32_t>(data.size()));
  return out;
}

// Real-mode header with setup_sects, then setup code, then the payload at payload_offset.
std::string make_bzimage(std::string_view payload, unsigned setup_sects = 3, std::uint32_t payload_offset = 0x100) {
  unsigned sects = setup_sects == 0 ? 4 : setup_sects;
  std::string image((sects + 1) * 512 + payload_offset, '\0');
  image[0x1f1] = static_cast<char>(setup_sects);
  std::memcpy(image.data() + 0x202, "HdrS", 4);
  image[0x206] = 0x0f;  // protocol 2.15
  image[0x207] = 0x02;
  put_le32(image, 0x248, payload_offset);
  put_le32(image, 0x24c, static_cast<std::uint32_t>(payload.size()));
  image.append(payload);
  image.append("tail-after-payload");
  return image;
}

// An ELF64 with one PT_NOTE; pvh selects the Xen PHYS32_ENTRY note type.
std::string make_elf(bool pvh, std::size_t body) {
  std::string elf(64 + 56, '\0');
  std::memcpy(elf.data(), "\x7f" "ELF\x02\x01\x01", 7);
  std::uint64_t phoff = 64;
  std::memcpy(elf.data() + 0x20, &phoff, 8);
  std::uint16_t phentsize = 56, phnum = 1;
  std::memcpy(elf.data() + 0x36, &phentsize, 2);
  std::memcpy(elf.data() + 0x38, &phnum, 2);
  std::string notes;
  append_le32(notes, 4);  // namesz "GNU\0"
  append_le32(notes, 4);
  append_le32(notes, 3);
  notes.append("GNU\0", 4);
  notes.append("abcd");
  append_le32(notes, 4);  // namesz "Xen\0"
  append_le32(notes, 4);
  append_le32(notes, pvh ? 18 : 17);
  notes.append("Xen\0", 4);
  notes.append("\x00\x10\x00\x01", 4);
  std::uint32_t pt_note = 4;
  std::uint64_t offset = elf.size(), size = notes.size();
  std::memcpy(elf.data() + 64, &pt_note, 4);
  std::memcpy(elf.data() + 64 + 0x08, &offset, 8);
  std::memcpy(elf.data() + 64 + 0x20, &size, 8);
  elf += notes;
  std::mt19937 rng(42);
  for (std::size_t i = 0; i < body; ++i) elf.push_back(static_cast<char>(i % 251 < 200 ? 'k' : rng()));
  return elf;
}

TEST(BzImage, ExtractsExactElfAcrossSeveralBlocks) {
  std::string elf = make_elf(true, 20u << 20);  // 3 blocks: 8 + 8 + 4 MiB
  for (unsigned sects : {0u, 3u, 27u}) {
    auto out = extract_vmlinux(make_bzimage(lz4_legacy(elf), sects));
    ASSERT_TRUE(out) << out.error().message;
    EXPECT_EQ(*out, elf) << "setup_sects=" << sects;
  }
  EXPECT_TRUE(elf_has_pvh_note(elf));
}

TEST(BzImage, AcceptsStreamWithoutSizeTrailer) {
  std::string elf = make_elf(true, 1000);
  auto out = extract_vmlinux(make_bzimage(lz4_legacy(elf, false)));
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(*out, elf);
}

TEST(BzImage, PvhNoteDetection) {
  EXPECT_FALSE(elf_has_pvh_note(make_elf(false, 10)));
  EXPECT_FALSE(elf_has_pvh_note("not an elf"));
  std::string truncated = make_elf(true, 0).substr(0, 100);
  EXPECT_FALSE(elf_has_pvh_note(truncated));
}

TEST(BzImage, RejectsBadInputsWithClearErrors) {
  std::string elf = make_elf(true, 4096);
  std::string payload = lz4_legacy(elf);
  struct Case {
    const char* name;
    std::string image;
    ErrorCode code;
    const char* needle;
  } cases[] = {
      {"empty", "", ErrorCode::invalid_request, "HdrS"},
      {"garbage", std::string(4096, 'x'), ErrorCode::invalid_request, "HdrS"},
      {"truncated file", make_bzimage(payload).substr(0, 2000), ErrorCode::invalid_request, "outside"},
      {"gzip payload", make_bzimage("\x1f\x8b\x08\x00rest-of-gzip"), ErrorCode::unsupported, "gzip"},
      {"zstd payload", make_bzimage("\x28\xb5\x2f\xfdzz"), ErrorCode::unsupported, "zstd"},
      {"corrupt block", make_bzimage(payload.substr(0, 8) + std::string(payload.size() - 8, '\xff')),
       ErrorCode::invalid_request, "lz4"},
      {"block past end", make_bzimage(payload.substr(0, payload.size() - 40)), ErrorCode::invalid_request, "lz4"},
      {"not elf", make_bzimage(lz4_legacy(std::string(5000, 'a'))), ErrorCode::invalid_request, "ELF"},
  };
  for (const auto& c : cases) {
    auto out = extract_vmlinux(c.image);
    ASSERT_FALSE(out) << c.name;
    EXPECT_EQ(out.error().code, c.code) << c.name << ": " << out.error().message;
    EXPECT_NE(out.error().message.find(c.needle), std::string::npos) << c.name << ": " << out.error().message;
  }
  std::string old_protocol = make_bzimage(payload);
  old_protocol[0x206] = 0x04;  // 2.04
  auto out = extract_vmlinux(old_protocol);
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().message.find("2.08"), std::string::npos);
}

TEST(BzImage, TrailerMismatchIsCorruption) {
  std::string stream = lz4_legacy(make_elf(true, 100));
  put_le32(stream, stream.size() - 4, 12345);
  auto out = decompress_lz4_legacy(stream);
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().message.find("trailer"), std::string::npos);
}

// The dev kernel, when a previous session left it on this machine.
TEST(BzImage, MatchesLz4ToolOnDebianCloudKernel) {
  const std::filesystem::path reference = "/tmp/kdev/vmlinux";
  const std::filesystem::path vmlinuz = "/tmp/kdev/root/boot/vmlinuz-6.1.0-56-cloud-amd64";
  const std::filesystem::path deb = "/tmp/kdev/linux-image-6.1.0-56-cloud-amd64_6.1.192-2_amd64.deb";
  if (!std::filesystem::exists(reference)) GTEST_SKIP() << "no /tmp/kdev/vmlinux";
  std::string bzimage;
  testing::TempDir dir;
  if (std::filesystem::exists(vmlinuz)) {
    bzimage = read_text(vmlinuz);
  } else if (std::filesystem::exists(deb)) {
    auto extracted = extract_kernel_deb(deb, dir.path());
    ASSERT_TRUE(extracted) << extracted.error().message;
    bzimage = read_text(dir.path() / "boot/vmlinuz-6.1.0-56-cloud-amd64");
  } else {
    GTEST_SKIP() << "no dev kernel under /tmp/kdev";
  }
  auto out = extract_vmlinux(bzimage);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_TRUE(*out == read_text(reference)) << "vmlinux differs from `lz4 -d` output";
  EXPECT_TRUE(elf_has_pvh_note(*out));
}

}  // namespace
}  // namespace microagent::image
