#include "image/vhd/vhd_writer.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/process.hpp"
#include "image_test_util.hpp"

namespace microagent::image {
namespace {

using testing::read_text;
using testing::TempDir;
using testing::write_text;

const std::array<std::uint8_t, 16> kId = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x47, 0x77,
                                          0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};

VhdOptions fixed_options(std::uint32_t timestamp) {
  VhdOptions options;
  options.unique_id = kId;
  options.timestamp = timestamp;
  return options;
}

std::string mke2fs_path() {
  if (auto p = find_program("mke2fs")) return *p;
  for (const char* p : {"/usr/sbin/mke2fs", "/sbin/mke2fs"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return {};
}

CommandOutput run_ok(const std::vector<std::string>& argv) {
  auto out = run_command(argv);
  EXPECT_TRUE(out) << argv[0] << ": " << (out ? "" : out.error().message);
  if (!out) return {};
  EXPECT_TRUE(out->status.success()) << argv[0] << " " << argv[1] << ": " << out->status.describe() << "\n"
                                     << out->out << out->err;
  return *out;
}

nlohmann::json qemu_info(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"qemu-img", "info", "--output=json"};
  argv.insert(argv.end(), args.begin(), args.end());
  return nlohmann::json::parse(run_ok(argv).out);
}

std::uint64_t allocated_bytes(const std::filesystem::path& p) {
  struct stat st{};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return static_cast<std::uint64_t>(st.st_blocks) * 512;
}

std::vector<std::string> dir_names(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string current_size_opts(const std::filesystem::path& vhd) {
  // How Hyper-V reads a VHD: size from the footer's current size, not CHS.
  return "driver=vpc,force_size_calc=current_size,file.filename=" + vhd.string();
}

// A 64 MiB ext4 image with a few files, built by mke2fs -d as the root disk is.
class VhdExt4Test : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!find_program("qemu-img")) GTEST_SKIP() << "qemu-img not installed";
    if (mke2fs_path().empty()) GTEST_SKIP() << "mke2fs not installed";
    auto tree = dir.path() / "tree";
    write_text(tree / "etc/hostname", "vhd-test\n");
    write_text(tree / "bin/hello", std::string(100000, 'h'));
    write_text(tree / "data/blob", std::string(3 << 20, 'x'));
    raw = dir.path() / "root.ext4";
    run_ok({mke2fs_path(), "-q", "-F", "-t", "ext4", "-d", tree.string(), raw.string(), "64M"});
  }
  TempDir dir;
  std::filesystem::path raw;
};

TEST_F(VhdExt4Test, SpecificationGeometryAcceptedByQemuImg) {
  auto vhd = dir.path() / "ours.vhd";
  auto options = fixed_options(1000);
  options.geometry = VhdGeometryPolicy::specification;
  ASSERT_TRUE(write_fixed_vhd(raw, vhd, options));
  EXPECT_EQ(dir_names(dir.path()), (std::vector<std::string>{"ours.vhd", "root.ext4", "tree"}));

  auto info = read_vhd_footer(vhd);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->file_size, (64ull << 20) + 512);
  EXPECT_EQ(info->footer.current_size, 64ull << 20);
  EXPECT_EQ(info->footer.original_size, 64ull << 20);
  EXPECT_EQ(info->footer.geometry, (VhdGeometry{963, 8, 17}));
  EXPECT_EQ(info->footer.unique_id, kId);
  EXPECT_EQ(info->footer.timestamp, 1000u);
  EXPECT_EQ(std::string(info->footer.creator_application.data(), 4), "mcag");

  // Read as Hyper-V reads it (current size): exactly the payload, identical to the source.
  auto j = qemu_info({"--image-opts", current_size_opts(vhd)});
  EXPECT_EQ(j["format"], "vpc");
  EXPECT_EQ(j["virtual-size"].get<std::uint64_t>(), 64ull << 20);
  auto same = run_ok({"qemu-img", "compare", "--image-opts", current_size_opts(vhd), "driver=raw,file.filename=" + raw.string()});
  EXPECT_NE(same.out.find("Images are identical"), std::string::npos) << same.out;

  // Plain `-f vpc`: QEMU sizes disks from creator applications it does not
  // know ("mcag") by CHS, 963*8*17 sectors, 52 KiB short of the payload.
  j = qemu_info({"-f", "vpc", vhd.string()});
  EXPECT_EQ(j["format"], "vpc");
  EXPECT_EQ(j["virtual-size"].get<std::uint64_t>(), 963ull * 8 * 17 * 512);

  // Sparse: the image is mostly empty, and so is our output.
  EXPECT_LT(allocated_bytes(vhd), (64ull << 20) / 4);
  EXPECT_LE(allocated_bytes(vhd), allocated_bytes(raw) + 64 * 1024)
      << "ours " << allocated_bytes(vhd) << ", source " << allocated_bytes(raw);
}

TEST_F(VhdExt4Test, MaxChsGeometryMatchesQemuImgForceSize) {
  auto vhd = dir.path() / "ours.vhd";
  VhdOptions options;
  options.geometry = VhdGeometryPolicy::max_chs;
  ASSERT_TRUE(write_fixed_vhd(raw, vhd, options));
  auto j = qemu_info({"-f", "vpc", vhd.string()});
  EXPECT_EQ(j["format"], "vpc");
  EXPECT_EQ(j["virtual-size"].get<std::uint64_t>(), 64ull << 20);
  auto same = run_ok({"qemu-img", "compare", "-f", "vpc", "-F", "raw", vhd.string(), raw.string()});
  EXPECT_NE(same.out.find("Images are identical"), std::string::npos) << same.out;

  // qemu-img's own conversion of the same input: our reader accepts it and
  // the size, geometry and type fields agree; time, UUID and creator differ.
  auto theirs = dir.path() / "qemu.vhd";
  run_ok({"qemu-img", "convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed,force_size=on", raw.string(),
          theirs.string()});
  auto q = read_vhd_footer(theirs);
  auto o = read_vhd_footer(vhd);
  ASSERT_TRUE(q) << q.error().message;
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->file_size, q->file_size);
  EXPECT_EQ(o->footer.current_size, q->footer.current_size);
  EXPECT_EQ(o->footer.original_size, q->footer.original_size);
  EXPECT_EQ(o->footer.geometry, q->footer.geometry);
  EXPECT_EQ(o->footer.disk_type, q->footer.disk_type);
  EXPECT_EQ(o->footer.data_offset, q->footer.data_offset);
  EXPECT_EQ(o->footer.features, q->footer.features);
  EXPECT_EQ(o->footer.format_version, q->footer.format_version);
  EXPECT_EQ(o->footer.creator_host_os, q->footer.creator_host_os);
  EXPECT_EQ(std::string(q->footer.creator_application.data(), 4), "qem2");
  // Same payload bytes as qemu's, and no more allocated than qemu's.
  EXPECT_EQ(run_ok({"cmp", "-n", std::to_string(64 << 20), vhd.string(), theirs.string()}).status.exit_code, 0);
  EXPECT_LE(allocated_bytes(vhd), allocated_bytes(theirs) + 64 * 1024);
}

TEST(VhdWriterTest, ReproducibleWithFixedIdAndTime) {
  TempDir dir;
  write_text(dir.path() / "raw", std::string(8192, 'r'));
  VhdOptions options = fixed_options(42);
  ASSERT_TRUE(write_fixed_vhd(dir.path() / "raw", dir.path() / "a.vhd", options));
  ASSERT_TRUE(write_fixed_vhd(dir.path() / "raw", dir.path() / "b.vhd", options));
  EXPECT_EQ(read_text(dir.path() / "a.vhd"), read_text(dir.path() / "b.vhd"));
  ASSERT_TRUE(write_fixed_vhd(dir.path() / "raw", dir.path() / "c.vhd"));
  EXPECT_NE(read_text(dir.path() / "a.vhd"), read_text(dir.path() / "c.vhd"));  // random UUID, now
}

// Written zeros (not holes) in the source still become holes: the fallback
// when SEEK_DATA sees everything as data.
TEST(VhdWriterTest, ZeroBlocksOfAFullyAllocatedSourceStayHoles) {
  TempDir dir;
  std::string payload(16 << 20, '\0');
  payload[5] = 'a';
  payload[(8 << 20) + 4095] = 'b';
  payload[payload.size() - 1] = 'c';
  write_text(dir.path() / "raw", payload);
  ASSERT_GE(allocated_bytes(dir.path() / "raw"), payload.size());
  auto vhd = dir.path() / "out.vhd";
  ASSERT_TRUE(write_fixed_vhd(dir.path() / "raw", vhd));
  EXPECT_LE(allocated_bytes(vhd), 64u * 1024) << "three data blocks and the footer";
  std::string out = read_text(vhd);
  ASSERT_EQ(out.size(), payload.size() + 512);
  EXPECT_EQ(out.substr(0, payload.size()), payload);
  ASSERT_TRUE(read_vhd_footer(vhd));
}

// A source that is not a whole number of sectors is padded with zeros to the
// next 512 bytes; the footer's sizes are the padded size.
TEST(VhdWriterTest, UnalignedSourceIsPaddedToASector) {
  TempDir dir;
  write_text(dir.path() / "raw", std::string(1000, '\xab'));
  auto vhd = dir.path() / "out.vhd";
  ASSERT_TRUE(write_fixed_vhd(dir.path() / "raw", vhd));
  auto info = read_vhd_footer(vhd);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->footer.current_size, 1024u);
  EXPECT_EQ(info->footer.original_size, 1024u);
  EXPECT_EQ(info->file_size, 1536u);
  std::string out = read_text(vhd);
  EXPECT_EQ(out.substr(0, 1000), std::string(1000, '\xab'));
  EXPECT_EQ(out.substr(1000, 24), std::string(24, '\0'));
}

TEST(VhdWriterTest, BadSourcesFailAndLeaveNothingBehind) {
  TempDir dir;
  auto vhd = dir.path() / "out.vhd";
  write_text(vhd, "previous");

  auto missing = write_fixed_vhd(dir.path() / "nope.img", vhd);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::not_found);
  EXPECT_NE(missing.error().message.find("nope.img"), std::string::npos) << missing.error().message;

  write_text(dir.path() / "empty.img", "");
  auto empty = write_fixed_vhd(dir.path() / "empty.img", vhd);
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, ErrorCode::invalid_request);

  auto directory = write_fixed_vhd(dir.path(), vhd);
  ASSERT_FALSE(directory);
  EXPECT_EQ(directory.error().code, ErrorCode::invalid_request);

  EXPECT_EQ(read_text(vhd), "previous");
  EXPECT_EQ(dir_names(dir.path()), (std::vector<std::string>{"empty.img", "out.vhd"}));
}

class VhdReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    write_text(dir.path() / "raw", std::string(64 * 1024, 'd'));
    ASSERT_TRUE(write_fixed_vhd(dir.path() / "raw", vhd, fixed_options(7)));
    bytes = read_text(vhd);
  }
  Error read_error(const std::string& contents) {
    write_text(vhd, contents);
    auto info = read_vhd_footer(vhd);
    EXPECT_FALSE(info);
    return info ? Error{} : info.error();
  }
  TempDir dir;
  std::filesystem::path vhd = dir.path() / "disk.vhd";
  std::string bytes;
};

TEST_F(VhdReaderTest, AcceptsOurOutput) {
  auto info = read_vhd_footer(vhd);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->footer.current_size, 64u * 1024);
}

TEST_F(VhdReaderTest, MissingFileIsNotFound) {
  auto info = read_vhd_footer(dir.path() / "absent.vhd");
  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().code, ErrorCode::not_found);
}

TEST_F(VhdReaderTest, TruncatedTailLosesTheFooter) {
  auto e = read_error(bytes.substr(0, bytes.size() - 100));
  EXPECT_EQ(e.code, ErrorCode::invalid_request);
  EXPECT_NE(e.message.find("VHD footer cookie is \"dddddddd\", expected \"conectix\": not a VHD, or truncated"),
            std::string::npos)
      << e.message;
}

TEST_F(VhdReaderTest, PayloadShorterThanCurrentSize) {
  auto e = read_error(bytes.substr(0, 4096) + bytes.substr(bytes.size() - 512));
  EXPECT_EQ(e.code, ErrorCode::invalid_request);
  EXPECT_NE(e.message.find("VHD file is 4608 bytes but its footer's current size is 65536: expected 66048"),
            std::string::npos)
      << e.message;
}

TEST_F(VhdReaderTest, SmallerThanAFooter) {
  auto e = read_error("conectix");
  EXPECT_EQ(e.code, ErrorCode::invalid_request);
  EXPECT_NE(e.message.find("is 8 bytes, smaller than the 512-byte VHD footer"), std::string::npos) << e.message;
}

TEST_F(VhdReaderTest, WrongCookie) {
  std::string bad = bytes;
  bad.replace(bad.size() - 512, 8, "cxsparse");
  auto e = read_error(bad);
  EXPECT_EQ(e.code, ErrorCode::invalid_request);
  EXPECT_NE(e.message.find("cookie is \"cxsparse\""), std::string::npos) << e.message;
}

TEST_F(VhdReaderTest, FlippedFooterByteIsRejected) {
  for (std::size_t i : {0u, 30u, 50u, 57u, 63u, 66u, 70u, 84u, 300u, 511u}) {
    std::string bad = bytes;
    bad[bad.size() - 512 + i] ^= 0x04;
    auto e = read_error(bad);
    EXPECT_EQ(e.code, ErrorCode::invalid_request) << i;
  }
}

TEST_F(VhdReaderTest, DynamicVhdIsUnsupported) {
  // Our own footer relabelled dynamic, checksum fixed up.
  auto footer = decode_vhd_footer(std::span<const std::uint8_t, 512>(
      reinterpret_cast<const std::uint8_t*>(bytes.data() + bytes.size() - 512), 512));
  ASSERT_TRUE(footer) << footer.error().message;
  footer->disk_type = vhd::kDiskTypeDynamic;
  auto encoded = encode_vhd_footer(*footer);
  auto e = read_error(bytes.substr(0, bytes.size() - 512) + std::string(encoded.begin(), encoded.end()));
  EXPECT_EQ(e.code, ErrorCode::unsupported);
  EXPECT_NE(e.message.find("VHD disk type 3 (dynamic) is not supported"), std::string::npos) << e.message;

  // And a real one from qemu-img.
  if (!find_program("qemu-img")) return;
  auto dynamic = dir.path() / "dynamic.vhd";
  run_ok({"qemu-img", "create", "-q", "-f", "vpc", "-o", "subformat=dynamic", dynamic.string(), "16M"});
  auto info = read_vhd_footer(dynamic);
  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().code, ErrorCode::unsupported);
  EXPECT_NE(info.error().message.find("dynamic"), std::string::npos) << info.error().message;
}

}  // namespace
}  // namespace microagent::image
