#include "image/vhd/vhd_footer.hpp"

#include <fmt/core.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "common/process.hpp"
#include "image_test_util.hpp"

namespace microagent::image {
namespace {

using testing::read_text;
using testing::TempDir;

VhdFooterBytes from_hex(const std::string& hex) {
  VhdFooterBytes out{};
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out[i / 2] = static_cast<std::uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16));
  return out;
}

VhdFooterBytes last_512(const std::filesystem::path& file) {
  std::string text = read_text(file);
  VhdFooterBytes out{};
  EXPECT_GE(text.size(), out.size());
  if (text.size() >= out.size()) std::memcpy(out.data(), text.data() + text.size() - out.size(), out.size());
  return out;
}

const std::array<std::uint8_t, 16> kId = {0x6b, 0x8f, 0x0e, 0x1a, 0x22, 0x33, 0x44, 0x55,
                                          0x86, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd};

// Geometry by the appendix's algorithm, worked by hand.
struct GeometryCase {
  std::uint64_t sectors;
  VhdGeometry expected;
  const char* why;
};

TEST(VhdGeometryTest, SpecificationAlgorithmByHand) {
  const GeometryCase cases[] = {
      {0, {0, 4, 17}, "empty: heads floor of 4"},
      {2048, {30, 4, 17}, "1 MiB: 2048/17=120, heads 4, 120/4=30"},
      {131072, {963, 8, 17}, "64 MiB: 131072/17=7710, heads ceil(7710/1024)=8, 7710/8=963"},
      {278545, {561, 16, 31}, "17*16385: heads 17 > 16 -> 31 spt, 278545/31=8985, /16=561"},
      {2097152, {2080, 16, 63}, "1 GiB: 31 spt gives 67650 >= 16384 -> 63 spt, 2097152/63=33288, /16=2080"},
      {8388608, {8322, 16, 63}, "4 GiB: 8388608/63=133152, /16=8322"},
      {65535ull * 16 * 63 - 1, {65534, 16, 63}, "just below the 255-spt threshold"},
      {65535ull * 16 * 63, {16191, 16, 255}, "the threshold: 66059280/255=259056, /16=16191"},
      {65535ull * 16 * 255, {65535, 16, 255}, "the maximum"},
      {65535ull * 16 * 255 + 12345, {65535, 16, 255}, "beyond the maximum: capped"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(vhd_chs_geometry(c.sectors), c.expected) << c.sectors << " sectors: " << c.why;
  }
}

// qemu-img without force_size rounds the size up to a CHS-exact one and
// writes the specification's geometry for it; our algorithm must give the
// same for that size. (With force_size=on qemu writes 65535/16/255 instead:
// checked below.)
TEST(VhdGeometryTest, MatchesQemuImgForTheSameSize) {
  if (!find_program("qemu-img")) GTEST_SKIP() << "qemu-img not installed";
  TempDir dir;
  // 17, 31 and 63 sectors per track. Kept small: qemu-img writes out the
  // zeros of larger disks here (about 7 s per GiB).
  for (std::uint64_t bytes : {130968ull, 1ull << 20, 10000000ull, 64ull << 20, 142615040ull, 256ull << 20}) {
    auto raw = dir.path() / "raw.img";
    auto vhd = dir.path() / "q.vhd";
    std::filesystem::remove(vhd);
    ASSERT_TRUE(run_command({"truncate", "-s", std::to_string(bytes), raw.string()}));
    auto made = run_command({"qemu-img", "convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed", raw.string(),
                             vhd.string()});
    ASSERT_TRUE(made && made->status.success()) << (made ? made->err : made.error().message);
    auto footer = decode_vhd_footer(last_512(vhd));
    ASSERT_TRUE(footer) << footer.error().message;
    EXPECT_EQ(vhd_chs_geometry(footer->current_size / 512), footer->geometry) << bytes << " bytes";
    EXPECT_EQ(footer->geometry.sectors() * 512, footer->current_size) << bytes << " bytes";

    if (bytes > (64ull << 20)) continue;
    std::filesystem::remove(vhd);
    made = run_command({"qemu-img", "convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed,force_size=on",
                        raw.string(), vhd.string()});
    ASSERT_TRUE(made && made->status.success());
    footer = decode_vhd_footer(last_512(vhd));
    ASSERT_TRUE(footer) << footer.error().message;
    EXPECT_EQ(footer->geometry, (VhdGeometry{65535, 16, 255})) << bytes << " bytes, force_size";
    EXPECT_EQ(footer->current_size, (bytes + 511) / 512 * 512);
  }
}

TEST(VhdFooterTest, EncodesTheSpecificationLayout) {
  VhdFooter f = make_fixed_vhd_footer(64ull << 20, 0x01020304, kId);
  VhdFooterBytes b = encode_vhd_footer(f);
  auto hex = [&](std::size_t offset, std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) out += fmt::format("{:02x}", b[offset + i]);
    return out;
  };
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(b.data()), 8), "conectix");
  EXPECT_EQ(hex(8, 4), "00000002");
  EXPECT_EQ(hex(12, 4), "00010000");
  EXPECT_EQ(hex(16, 8), "ffffffffffffffff");
  EXPECT_EQ(hex(24, 4), "01020304");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(b.data() + 28), 4), "mcag");
  EXPECT_EQ(hex(32, 4), "00000001");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(b.data() + 36), 4), "Wi2k");
  EXPECT_EQ(hex(40, 8), "0000000004000000");
  EXPECT_EQ(hex(48, 8), "0000000004000000");
  EXPECT_EQ(hex(56, 4), "03c30811");  // 963 cylinders, 8 heads, 17 sectors/track
  EXPECT_EQ(hex(60, 4), "00000002");
  EXPECT_EQ(hex(68, 16), "6b8f0e1a2233445586778899aabbccdd");
  EXPECT_EQ(b[84], 0);
  for (std::size_t i = vhd::kReservedOffset; i < b.size(); ++i) ASSERT_EQ(b[i], 0) << "reserved byte " << i;
  std::uint32_t stored = (std::uint32_t{b[64]} << 24) | (std::uint32_t{b[65]} << 16) | (std::uint32_t{b[66]} << 8) | b[67];
  EXPECT_EQ(stored, vhd_footer_checksum(b));
}

// A footer qemu-img 7.2 wrote (`convert -O vpc -o subformat=fixed,force_size=on`
// of a 64 MiB raw file): our decoder and checksum agree with qemu's.
TEST(VhdFooterTest, DecodesQemuImgFooter) {
  auto bytes = from_hex(
      "636f6e65637469780000000200010000ffffffffffffffff32970dba71656d32000500035769326b0000000004000000000000000400"
      "0000ffff10ff00000002ffffe4ebf22ba895ea24436cb3631fca09c466f2");
  auto f = decode_vhd_footer(bytes);
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->checksum, 0xffffe4ebu);
  EXPECT_EQ(vhd_footer_checksum(bytes), 0xffffe4ebu);
  EXPECT_EQ(std::string(f->creator_application.data(), 4), "qem2");
  EXPECT_EQ(f->creator_version, 0x00050003u);
  EXPECT_EQ(f->creator_host_os, vhd::kHostOsWindows);
  EXPECT_EQ(f->current_size, 64ull << 20);
  EXPECT_EQ(f->original_size, 64ull << 20);
  EXPECT_EQ(f->geometry, (VhdGeometry{65535, 16, 255}));
  EXPECT_EQ(f->timestamp, 0x32970dbau);
  EXPECT_EQ(format_vhd_unique_id(f->unique_id), "f22ba895-ea24-436c-b363-1fca09c466f2");
  // Re-encoding the decoded fields gives back qemu's bytes exactly.
  EXPECT_EQ(encode_vhd_footer(*f), bytes);
}

TEST(VhdFooterTest, RoundTripsFieldTable) {
  std::vector<VhdFooter> table;
  for (std::uint64_t size : {512ull, 1ull << 20, 64ull << 20, 10000384ull, 200ull << 30}) {
    table.push_back(make_fixed_vhd_footer(size, 0, kId));
  }
  VhdFooter odd = make_fixed_vhd_footer(4096, 0xFFFFFFFF, random_vhd_unique_id());
  odd.features = 0x3;  // temporary bit set: not checked
  odd.original_size = 1024;
  odd.saved_state = 1;
  odd.creator_application = {'w', 'i', 'n', ' '};
  table.push_back(odd);
  for (const auto& f : table) {
    auto bytes = encode_vhd_footer(f);
    auto back = decode_vhd_footer(bytes);
    ASSERT_TRUE(back) << back.error().message;
    VhdFooter expected = f;
    expected.checksum = vhd_footer_checksum(bytes);
    EXPECT_EQ(*back, expected) << f.current_size;
  }
}

TEST(VhdFooterTest, ChecksumIsOnesComplementOfByteSum) {
  VhdFooterBytes zero{};
  EXPECT_EQ(vhd_footer_checksum(zero), 0xFFFFFFFFu);
  VhdFooterBytes b{};
  b[0] = 0x10;
  b[511] = 0x01;
  b[64] = b[65] = b[66] = b[67] = 0xFF;  // the checksum field itself is skipped
  EXPECT_EQ(vhd_footer_checksum(b), ~std::uint32_t{0x11});
}

TEST(VhdFooterTest, ChecksumMismatchNamesBothValues) {
  auto bytes = encode_vhd_footer(make_fixed_vhd_footer(1 << 20, 0, kId));
  std::uint32_t good = vhd_footer_checksum(bytes);
  bytes[64] ^= 0x80;
  auto f = decode_vhd_footer(bytes);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code, ErrorCode::invalid_request);
  EXPECT_EQ(f.error().message, fmt::format("VHD footer checksum mismatch: stored 0x{:08x}, computed 0x{:08x}: the "
                                           "footer is corrupt",
                                           good ^ 0x80000000u, good));
}

// Every byte of the footer, reserved ones included, is covered by the
// checksum, so no single-byte change goes unnoticed. (Two changes that cancel
// in the byte sum would pass the checksum: its limit, not ours to fix.)
TEST(VhdFooterTest, EveryFlippedByteIsRejected) {
  const auto good = encode_vhd_footer(make_fixed_vhd_footer(64ull << 20, 123456, kId));
  ASSERT_TRUE(decode_vhd_footer(good));
  for (std::uint8_t mask : {std::uint8_t{0x01}, std::uint8_t{0x80}, std::uint8_t{0xFF}}) {
    for (std::size_t i = 0; i < good.size(); ++i) {
      auto bad = good;
      bad[i] ^= mask;
      auto f = decode_vhd_footer(bad);
      ASSERT_FALSE(f) << "offset " << i << " mask " << int(mask);
      EXPECT_EQ(f.error().code, ErrorCode::invalid_request) << "offset " << i;
    }
  }
}

// Invalid field values with a correct checksum: each check fires by itself.
struct BadFooterCase {
  const char* name;
  void (*mutate)(VhdFooter&);
  ErrorCode code;
  const char* message_part;
};

TEST(VhdFooterTest, RejectsBadFieldsWithClearErrors) {
  const BadFooterCase cases[] = {
      {"cookie", [](VhdFooter& f) { f.cookie = {'c', 'x', 's', 'p', 'a', 'r', 's', 'e'}; },
       ErrorCode::invalid_request, "VHD footer cookie is \"cxsparse\", expected \"conectix\""},
      {"version", [](VhdFooter& f) { f.format_version = 0x00020000; }, ErrorCode::invalid_request,
       "file format version is 0x00020000"},
      {"dynamic", [](VhdFooter& f) { f.disk_type = 3; }, ErrorCode::unsupported,
       "VHD disk type 3 (dynamic) is not supported: only fixed VHDs (type 2) are"},
      {"differencing", [](VhdFooter& f) { f.disk_type = 4; }, ErrorCode::unsupported,
       "VHD disk type 4 (differencing) is not supported"},
      {"type 0", [](VhdFooter& f) { f.disk_type = 0; }, ErrorCode::invalid_request, "disk type is 0, expected 2"},
      {"type 6", [](VhdFooter& f) { f.disk_type = 6; }, ErrorCode::invalid_request, "disk type is 6, expected 2"},
      {"data offset", [](VhdFooter& f) { f.data_offset = 512; }, ErrorCode::invalid_request,
       "data offset is 0x0000000000000200"},
      {"size 0", [](VhdFooter& f) { f.current_size = 0; }, ErrorCode::invalid_request, "current size 0 is not"},
      {"size unaligned", [](VhdFooter& f) { f.current_size = 1000; }, ErrorCode::invalid_request,
       "current size 1000 is not a non-zero multiple of 512"},
  };
  for (const auto& c : cases) {
    VhdFooter f = make_fixed_vhd_footer(1 << 20, 0, kId);
    c.mutate(f);
    auto decoded = decode_vhd_footer(encode_vhd_footer(f));
    ASSERT_FALSE(decoded) << c.name;
    EXPECT_EQ(decoded.error().code, c.code) << c.name;
    EXPECT_NE(decoded.error().message.find(c.message_part), std::string::npos)
        << c.name << ": " << decoded.error().message;
  }
}

TEST(VhdFooterTest, TimestampCountsFrom2000Utc) {
  EXPECT_EQ(vhd_timestamp_from_unix(946684800), 0u);                // 2000-01-01T00:00:00Z
  EXPECT_EQ(vhd_timestamp_from_unix(946684800 + 86400), 86400u);    // a day later
  EXPECT_EQ(vhd_timestamp_from_unix(1798761600), 852076800u);       // 2027-01-01T00:00:00Z
  EXPECT_EQ(vhd_timestamp_from_unix(0), 0u);                        // before 2000: clamped
}

TEST(VhdFooterTest, RandomUniqueIdIsVersion4) {
  auto a = random_vhd_unique_id();
  auto b = random_vhd_unique_id();
  EXPECT_NE(a, b);
  EXPECT_EQ(a[6] >> 4, 4);
  EXPECT_EQ(a[8] >> 6, 2);
  EXPECT_EQ(format_vhd_unique_id(kId), "6b8f0e1a-2233-4455-8677-8899aabbccdd");
}

}  // namespace
}  // namespace microagent::image
