// Image config parsing and the process it describes after overrides.
#include <gtest/gtest.h>

#include "image/oci/image_config.hpp"

namespace microagent::image {
namespace {

constexpr const char* kConfig = R"({"architecture":"amd64","os":"linux",
  "config":{"Entrypoint":["/entry"],"Cmd":["default"],"Env":["PATH=/bin","A=1"],"WorkingDir":"/w","User":"1000:1000"},
  "rootfs":{"type":"layers","diff_ids":["sha256:0000000000000000000000000000000000000000000000000000000000000000"]}})";

TEST(ImageConfig, ParsesProcessDefaults) {
  auto config = parse_image_config(kConfig);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->entrypoint, std::vector<std::string>{"/entry"});
  EXPECT_EQ(config->cmd, std::vector<std::string>{"default"});
  EXPECT_EQ(config->working_dir, "/w");
  EXPECT_EQ(config->user, "1000:1000");
  EXPECT_EQ(config->diff_ids.size(), 1u);
  EXPECT_EQ(image_config_from_json(to_json(*config)).env, config->env);
}

TEST(ImageConfig, BadConfigsAreRefused) {
  for (const char* text : {"[]", "{}", R"({"rootfs":{"diff_ids":["md5:00"]}})", R"({"rootfs":{"diff_ids":"x"}})",
                           R"({"config":{"Cmd":"sh"},"rootfs":{"diff_ids":[]}})",
                           R"({"config":{"User":5},"rootfs":{"diff_ids":[]}})"}) {
    auto config = parse_image_config(text);
    ASSERT_FALSE(config) << text;
    EXPECT_TRUE(config.error().code == ErrorCode::invalid_request || config.error().code == ErrorCode::unsupported);
  }
}

TEST(ImageConfig, SynthesizedConfigIsCanonical) {
  const std::string digest = "sha256:" + std::string(64, 'b');
  EXPECT_EQ(synthesize_rootfs_config(digest), synthesize_rootfs_config(digest));
  auto config = parse_image_config(synthesize_rootfs_config(digest));
  ASSERT_TRUE(config);
  EXPECT_EQ(config->diff_ids, std::vector<std::string>{digest});
  EXPECT_TRUE(config->cmd.empty());
}

}  // namespace
}  // namespace microagent::image
